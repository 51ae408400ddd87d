"""Which mask encoding a folder uses, decided once from the masks' histograms.

Encodings (``kind`` of the record written into the config):

- ``'index'``: one channel of class indices ``0..K-1`` (0 is a class), the ignore value
  (255 by default) elsewhere; or ``1..K`` with 0 = unlabelled (``reduce_zero_label``),
  decided from the class list when it has K names, else from the flag, never guessed;
- ``'binary'``: 0/255 (or 0/1) masks: two classes, background and foreground;
- ``'palette'``: "P" mode PNGs: the indices as above; the file's palette draws them;
- ``'rgb'``: colour masks, mapped through the class colours when given, otherwise each
  distinct colour is a class (named by its hex code) up to ``max_colours``.

``'rgb'`` and 0/255 ``'binary'`` masks are converted to index masks for training
(:mod:`.convert`); predictions are written back in the record's encoding
(:func:`encode_labels`).
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from .classes import ClassTable, hex_colour
from .layout import FolderDatasetError, refuse
from .scan import pack_rgb

IGNORE = -1


def _rgb(packed: int) -> Tuple[int, int, int]:
    return (packed >> 16) & 255, (packed >> 8) & 255, packed & 255


def value_to_class(encoding: dict) -> Dict[int, int]:
    """File value (or packed colour) -> class index, or ``IGNORE``."""
    kind = encoding['kind']
    if kind == 'rgb':
        table = {int(pack_rgb(np.asarray(c))): i for i, c in enumerate(encoding['colours'])}
        table.update({int(pack_rgb(np.asarray(c))): IGNORE
                      for c in encoding.get('ignore_colours', [])})
        return table
    if kind == 'binary':
        return {v: i for i, v in enumerate(encoding['values'])}
    offset = 1 if encoding['reduce_zero_label'] else 0
    table = {v + offset: v for v in range(encoding['num_classes'])}
    if offset:
        table[0] = IGNORE
    table[encoding['ignore_index']] = IGNORE
    return table


def map_histogram(hist: Dict[int, int], table: Dict[int, int],
                  num_classes: int) -> Tuple[np.ndarray, int, Dict[int, int]]:
    """(pixels per class, ignored pixels, {unknown value: pixels}) of one mask."""
    counts = np.zeros(num_classes, np.int64)
    ignored = 0
    unknown = {}
    for value, pixels in hist.items():
        cls = table.get(value)
        if cls is None:
            unknown[value] = pixels
        elif cls == IGNORE:
            ignored += pixels
        else:
            counts[cls] += pixels
    return counts, ignored, unknown


def describe_value(value: int, kind: str) -> str:
    return hex_colour(_rgb(value)) if kind == 'rgb' else str(value)


class Decision:
    """What :func:`decide_encoding` chose: the record, names, palette and the reasons."""

    def __init__(self, encoding: dict, names: List[str], palette: List[List[int]],
                 reasons: List[str]) -> None:
        self.encoding = encoding
        self.names = names
        self.palette = palette
        self.reasons = reasons


def decide_encoding(scans: List[dict], table: Optional[ClassTable],
                    reduce_zero_label: Optional[bool] = None, ignore_index: int = 255,
                    max_colours: int = 32) -> Decision:
    """Chooses the encoding of all masks from their histograms (see the module docstring).

    Args:
        scans (list[dict]): :func:`.scan.scan_pair` results of every pair, readable ones.
        table (ClassTable, optional): The class list, with colours if given.
        reduce_zero_label (bool, optional): The user's answer to "is 0 unlabelled?"
            (``--reduce-zero-label`` / ``--no-reduce-zero-label``), None if not given.
        ignore_index (int): The value of unlabelled pixels in index masks.
        max_colours (int): Most classes made from distinct colours without a table.

    Raises:
        FolderDatasetError: Mixed encodings, too many colours, colours missing from the
            table, more colours than classes, values outside the classes, or an
            undecidable ``reduce_zero_label``; the message names the files.
    """
    from ...visualization import default_palette
    too_many = [s for s in scans if s['hist'] is None]
    if too_many:
        refuse([f"{s['key']}: more than 1024 colours (anti-aliased edges, a photo or a "
                 'JPEG-compressed export?): save the mask without smoothing, one colour per '
                 'class' for s in too_many], 'Masks that are not label masks')
    colour = [s for s in scans if s['kind'] == 'colours']
    single = [s for s in scans if s['kind'] == 'values']
    if colour and single:
        raise FolderDatasetError(
            f"mixed mask encodings: {colour[0]['key']} is a colour mask but "
            f"{single[0]['key']} has one channel ({single[0]['mode']}); export all masks "
            'the same way (nothing was changed)')
    if colour:
        return _decide_rgb(colour, table, max_colours)
    names = table.names if table else None
    values = set()
    for s in single:
        values.update(s['hist'])
    palettes = [s for s in single if s['mode'] == 'P']
    reasons = []
    two_classes = not palettes and (names is None or len(names) == 2)
    if two_classes and values <= {0, 255} and 255 in values:
        names = names or ['background', 'foreground']
        encoding = dict(kind='binary', values=[0, 255], reduce_zero_label=False,
                        ignore_index=ignore_index, num_classes=2)
        reasons.append('binary masks 0/255: two classes (0 -> 0, 255 -> 1)')
        return Decision(encoding, names, [[0, 0, 0], [255, 255, 255]], reasons)
    if two_classes and values <= {0, 1} and reduce_zero_label is not True:
        names = names or ['background', 'foreground']
        encoding = dict(kind='index', reduce_zero_label=False, ignore_index=ignore_index,
                        num_classes=2)
        reasons.append('binary masks 0/1: two classes, used as they are')
        return Decision(encoding, names, [[0, 0, 0], [255, 255, 255]], reasons)
    labels = sorted(values - {ignore_index})
    if not labels:
        raise FolderDatasetError(f'every mask holds only the ignore value {ignore_index}: '
                                 'nothing is labelled; check --ignore-index or the export')
    top = labels[-1]
    if names is not None:
        k = len(names)
        if reduce_zero_label is None:
            reduce_zero_label = top == k
            reasons.append(
                f'values {labels[0]}..{top} and {k} classes: ' +
                ('0 is "unlabelled" and 1..K are the classes (reduce_zero_label)'
                 if reduce_zero_label else '0..K-1 are the classes (0 is a class)'))
        else:
            reasons.append(f'reduce_zero_label={reduce_zero_label} (as given)')
    else:
        if reduce_zero_label is None:
            raise FolderDatasetError(
                f'the masks hold values {labels[0]}..{top} (ignore value {ignore_index}) and '
                'no class list says how many classes there are: is 0 a class '
                f'({top + 1} classes; pass --no-reduce-zero-label) or "unlabelled" '
                f'({top} classes; pass --reduce-zero-label)? Or name the classes with '
                '--classes or a classes.txt in the folder (nothing was changed)')
        k = top if reduce_zero_label else top + 1
        names = [f'class_{i + int(reduce_zero_label)}' for i in range(k)]
        reasons.append(f'reduce_zero_label={reduce_zero_label} (as given): {k} classes')
    encoding = dict(kind='palette' if palettes else 'index',
                    reduce_zero_label=bool(reduce_zero_label), ignore_index=ignore_index,
                    num_classes=k)
    _check_values(single, encoding, k, table.source if table else 'the flags')
    if palettes:
        flat = palettes[0]['palette'] or []
        offset = int(reduce_zero_label)
        palette = [list(flat[3 * (i + offset):3 * (i + offset) + 3]) for i in range(k)]
        palette = [c if len(c) == 3 else [0, 0, 0] for c in palette]
        encoding['palette'] = [list(flat[i:i + 3]) for i in range(0, min(len(flat), 768), 3)]
        reasons.append(f"palette PNGs ({palettes[0]['key']}...): indices as values, the "
                       "file's palette draws the classes")
    else:
        palette = default_palette(k).tolist()
    return Decision(encoding, list(names), palette, reasons)


def _check_values(scans: List[dict], encoding: dict, k: int, source: str) -> None:
    table = value_to_class(encoding)
    problems = []
    for s in scans:
        _, _, unknown = map_histogram(s['hist'], table, k)
        if unknown:
            found = ', '.join(f'{v} ({n} px)' for v, n in sorted(unknown.items())[:8])
            first = 1 if encoding['reduce_zero_label'] else 0
            problems.append(f"{s['key']}: values {found} are outside the classes "
                            f'{first}..{first + k - 1} and not the ignore value '
                            f"{encoding['ignore_index']}")
    if problems:
        refuse(problems, f'Mask values outside the {k} classes ({source}); fix the masks, '
                'list every class, or set --ignore-index / --reduce-zero-label')


def _too_many_colours(scans: List[dict], found: int, allowed: str) -> FolderDatasetError:
    worst = max(scans, key=lambda s: len(s['hist']))
    return FolderDatasetError(
        f'{found} distinct colours in the masks but {allowed} (the most in '
        f"{worst['key']}: {len(worst['hist'])}); give the colour of each class in a "
        'classes.csv (name,r,g,b), so that the other colours are reported by file, or fix '
        'the masks (nothing was changed)')


def _decide_rgb(scans: List[dict], table: Optional[ClassTable], max_colours: int) -> Decision:
    totals: Dict[int, int] = {}
    for s in scans:
        for value, pixels in s['hist'].items():
            totals[value] = totals.get(value, 0) + pixels
    reasons = []
    if table is not None and table.colours is not None:
        encoding = dict(kind='rgb', colours=[list(c) for c in table.colours],
                        ignore_colours=[list(c) for c in table.ignore_colours],
                        reduce_zero_label=False, ignore_index=255,
                        num_classes=len(table.names))
        lookup = value_to_class(encoding)
        problems = []
        for s in scans:
            _, _, unknown = map_histogram(s['hist'], lookup, len(table.names))
            for value, pixels in sorted(unknown.items(), key=lambda kv: -kv[1]):
                problems.append(f"{s['key']}: colour {hex_colour(_rgb(value))} "
                                f'{_rgb(value)} ({pixels} px) is not in the colour table')
        if problems:
            refuse(problems, f'Colours missing from {table.source}: add them (as a class, '
                    'or as an "ignore" row) or repaint those pixels')
        reasons.append(f'RGB colour masks, mapped through the colours of {table.source}')
        return Decision(encoding, list(table.names), [list(c) for c in table.colours],
                        reasons)
    colours = sorted(totals)
    if table is not None:
        if len(colours) > len(table.names):
            raise _too_many_colours(scans, len(colours),
                                    f'{len(table.names)} classes in {table.source}')
        if len(colours) < len(table.names):
            raise FolderDatasetError(
                f'{len(colours)} distinct colours in the masks but {len(table.names)} classes '
                f'in {table.source}: which colour is which class? Give the colour of each '
                'class (classes.csv: name,r,g,b) (nothing was changed)')
        names = list(table.names)
        reasons.append('RGB colour masks without a colour table: the classes were given '
                       'the colours in hex order: ' + ', '.join(
                           f'{n}={hex_colour(_rgb(c))}' for n, c in zip(names, colours))
                       + '; put the colours in classes.csv if that is wrong')
    else:
        if len(colours) > max_colours:
            raise _too_many_colours(scans, len(colours), f'--max-colours {max_colours} '
                                    'without a class list (raise it if that is right)')
        names = [hex_colour(_rgb(c)) for c in colours]
        reasons.append(f'RGB colour masks without a class list: each of the {len(colours)} '
                       'colours is a class, named by its hex code')
    encoding = dict(kind='rgb', colours=[list(_rgb(c)) for c in colours], ignore_colours=[],
                    reduce_zero_label=False, ignore_index=255, num_classes=len(names))
    return Decision(encoding, names, [list(_rgb(c)) for c in colours], reasons)


def encode_labels(labels: np.ndarray, encoding: Optional[dict]) -> Image.Image:
    """Predicted class indices (H, W) as a label image in the dataset's own encoding.

    Args:
        labels (np.ndarray): Class indices ``0..K-1``.
        encoding (dict, optional): The config's ``mask_encoding`` record; None writes
            plain indices.

    Returns:
        PIL.Image.Image: ``L`` (indices, ``+1`` with ``reduce_zero_label``, or 0/255 for
        binary masks), ``P`` with the user's palette, or ``RGB`` with the class colours.
    """
    labels = np.asarray(labels)
    if encoding is None:
        return Image.fromarray(labels.astype(np.uint8 if labels.max(initial=0) < 256
                                             else np.uint16))
    kind = encoding['kind']
    if kind == 'rgb':
        colours = np.asarray(encoding['colours'], np.uint8)
        return Image.fromarray(colours[labels])
    if kind == 'binary':
        values = np.asarray(encoding['values'], np.uint8)
        return Image.fromarray(values[labels])
    out = (labels + int(encoding.get('reduce_zero_label', False))).astype(np.uint8)
    image = Image.fromarray(out)
    if kind == 'palette':  # putpalette turns the L image into P, indices unchanged
        image.putpalette([int(v) for c in encoding['palette'] for v in c])
    return image
