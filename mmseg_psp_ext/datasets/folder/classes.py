"""The class list of a user's folder: ``--classes`` or a ``classes.txt/.csv/.json`` file.

- ``classes.txt``: one name a line (``#`` comments and blank lines skipped);
- ``classes.csv``: ``name`` or ``name,r,g,b`` or ``name,#rrggbb`` a row (a header row
  whose first cell is ``name`` or ``class`` is skipped);
- ``classes.json``: a list of names, a list of ``{"name": ..., "color": [r, g, b]}``
  (or ``"#rrggbb"``), or an object ``{name: colour}``.

A row named ``ignore`` (or ``void``, ``_ignore_``) with a colour is not a class: pixels of
that colour in colour masks are ignored in training and scoring.
"""
import csv
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from .layout import FolderDatasetError

CLASS_FILES = ('classes.txt', 'classes.csv', 'classes.json')
IGNORE_NAMES = ('ignore', 'void', '_ignore_')
Colour = Tuple[int, int, int]


@dataclass
class ClassTable:
    """Class names, and the colour of each class in colour masks if known.

    Args:
        names (list[str]): The class names, in index order.
        colours (list, optional): ``(r, g, b)`` of each class, or None.
        ignore_colours (list): Colours that mean "not labelled".
        source (str): Where the list came from (for messages).
    """
    names: List[str]
    colours: Optional[List[Colour]] = None
    ignore_colours: List[Colour] = field(default_factory=list)
    source: str = '--classes'


def parse_colour(value, where: str) -> Colour:
    """``[r, g, b]``, ``'r g b'`` or ``'#rrggbb'`` as a tuple of three ints in 0..255."""
    try:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith('#') and len(text) == 7:
                return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))
            value = text.replace(',', ' ').split()
        colour = tuple(int(v) for v in value)
        if len(colour) == 3 and all(0 <= c <= 255 for c in colour):
            return colour
    except (TypeError, ValueError):
        pass
    raise FolderDatasetError(f'{where}: colour {value!r} is not r,g,b in 0..255 or #rrggbb')


def hex_colour(colour: Sequence[int]) -> str:
    return '#{:02x}{:02x}{:02x}'.format(*colour)


def _table(entries: List[Tuple[str, Optional[Colour]]], source: str) -> ClassTable:
    names, colours, ignore = [], [], []
    for name, colour in entries:
        if name.lower() in IGNORE_NAMES:
            if colour is None:
                raise FolderDatasetError(f'{source}: the {name!r} row needs a colour')
            ignore.append(colour)
            continue
        if name in names:
            raise FolderDatasetError(f'{source}: class {name!r} is listed twice')
        names.append(name)
        colours.append(colour)
    if not names:
        raise FolderDatasetError(f'{source}: no class names')
    given = [c is not None for c in colours]
    if any(given) and not all(given):
        missing = [n for n, c in zip(names, colours) if c is None]
        raise FolderDatasetError(f'{source}: classes {missing} have no colour; give every '
                                 'class a colour or none')
    if all(given) and len(set(colours)) < len(colours):
        raise FolderDatasetError(f'{source}: two classes share a colour')
    return ClassTable(names, colours if all(given) else None, ignore, source)


def _read_txt(path: str) -> List[Tuple[str, Optional[Colour]]]:
    with open(path, encoding='utf-8') as f:
        return [(line.strip(), None) for line in f
                if line.strip() and not line.lstrip().startswith('#')]


def _read_csv(path: str) -> List[Tuple[str, Optional[Colour]]]:
    entries = []
    with open(path, newline='', encoding='utf-8') as f:
        for row_no, row in enumerate(csv.reader(f), 1):
            row = [cell.strip() for cell in row]
            if not row or not row[0] or row[0].startswith('#'):
                continue
            if row_no == 1 and row[0].lower() in ('name', 'class', 'classes'):
                continue
            where = f'{path} line {row_no}'
            if len(row) == 1:
                entries.append((row[0], None))
            elif len(row) == 2:
                entries.append((row[0], parse_colour(row[1], where)))
            elif len(row) == 4:
                entries.append((row[0], parse_colour(row[1:], where)))
            else:
                raise FolderDatasetError(f'{where}: expected name[,r,g,b] or name,#rrggbb, '
                                         f'got {len(row)} cells')
    return entries


def _read_json(path: str) -> List[Tuple[str, Optional[Colour]]]:
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise FolderDatasetError(f'{path}: not valid JSON ({err})') from err
    if isinstance(data, dict) and 'classes' in data and isinstance(data['classes'], list):
        data = data['classes']
    if isinstance(data, dict):
        return [(str(k), None if v is None else parse_colour(v, f'{path} {k!r}'))
                for k, v in data.items()]
    if not isinstance(data, list):
        raise FolderDatasetError(f'{path}: expected a list of classes or an object '
                                 '{name: colour}')
    entries = []
    for i, item in enumerate(data):
        if isinstance(item, str):
            entries.append((item, None))
        elif isinstance(item, dict) and 'name' in item:
            colour = item.get('color', item.get('colour'))
            entries.append((str(item['name']), None if colour is None
                            else parse_colour(colour, f'{path} item {i}')))
        else:
            raise FolderDatasetError(f'{path} item {i}: expected a name or '
                                     '{"name": ..., "color": [r, g, b]}')
    return entries


def read_classes(root: str, names: Optional[Sequence[str]] = None) -> Optional[ClassTable]:
    """The classes from ``names`` (``--classes``) or the folder's class file, or None.

    Raises:
        FolderDatasetError: A malformed file, two class files, duplicate names.
    """
    if names:
        return _table([(n, None) for n in names], '--classes')
    found = [osp.join(root, name) for name in CLASS_FILES if osp.isfile(osp.join(root, name))]
    if len(found) > 1:
        raise FolderDatasetError(f'{root}: more than one class file ({", ".join(found)}); '
                                 'keep one')
    if not found:
        return None
    path = found[0]
    reader = {'.txt': _read_txt, '.csv': _read_csv, '.json': _read_json}[osp.splitext(path)[1]]
    return _table(reader(path), path)
