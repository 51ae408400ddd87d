"""Finding the image/mask pairs of a user's folder and the split of each pair.

Layouts read (folder names matched case-insensitively, ``--images``/``--masks`` override):

- ``ROOT/images`` and ``ROOT/masks`` (or ``labels``, ``annotations``, ``ann_dir``,
  ``img_dir``, ``JPEGImages``/``SegmentationClass``, ...), paired by the path without
  its suffix (``images/a/b.jpg`` with ``masks/a/b.png``);
- the split given by ``train/`` and ``val/`` folders inside both (``images/train``) or
  around both (``train/images``), by list files ``train.txt``/``val.txt`` (stems or
  relative paths, one a line; also under ``splits/`` or ``ImageSets/Segmentation/``), or
  else a deterministic split by a hash of the stem (``val_fraction``, at least one pair
  in each).
"""
import hashlib
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ...utils.image_files import IMAGE_EXTENSIONS as IMAGE_SUFFIXES

IMAGE_DIR_NAMES = ('images', 'image', 'imgs', 'img', 'img_dir', 'jpegimages', 'rgb',
                   'inputs', 'photos')
MASK_DIR_NAMES = ('masks', 'mask', 'labels', 'label', 'annotations', 'annotation',
                  'ann_dir', 'segmentationclass', 'segmentationclasspng', 'gt',
                  'ground_truth', 'groundtruth', 'segmentations')
SPLIT_NAMES = {'train': ('train', 'training'), 'val': ('val', 'validation', 'valid')}
LIST_DIRS = ('', 'splits', osp.join('ImageSets', 'Segmentation'))
#: Files a file manager or OS leaves in folders; never reported.
SYSTEM_FILES = ('thumbs.db', 'desktop.ini')


class FolderDatasetError(ValueError):
    """A user folder that cannot become a dataset; the message names the files and the fix."""


def refuse(problems: List[str], header: str) -> None:
    """Raises :class:`FolderDatasetError` with the first ten problems and the count."""
    from ..sample_check import summarise
    lines, count = summarise(problems)
    raise FolderDatasetError(f'{header} ({count}):\n{lines}\n(nothing was changed)')


@dataclass
class Pair:
    """One image and its mask.

    Args:
        key (str): The mask's path relative to the dataset root, without suffix, with
            ``/`` separators (unique; names the converted mask).
        image (str): Path of the image.
        mask (str): Path of the mask.
        split (str): ``'train'`` or ``'val'``.
    """
    key: str
    image: str
    mask: str
    split: str


@dataclass
class Layout:
    """What :func:`find_layout` found.

    Args:
        root (str): The dataset root.
        images (str, optional): The image folder's name (inside the split folders for
            ``split_by='outer'``; None when the splits name it differently).
        masks (str): The mask folder's name.
        split_by (str): ``'outer'`` (``train/images``), ``'inner'`` (``images/train``),
            ``'lists'`` (``train.txt``/``val.txt``) or ``'hash'``.
        val_fraction (float): Share of validation pairs of the hash split.
        pairs (list[Pair]): The pairs, sorted by key.
        unpaired_images (list[str]): Images without a mask.
        unpaired_masks (list[str]): Masks without an image.
        unlisted (list[str]): Images in neither list file (``split_by='lists'``).
        list_files (dict): The list file of each split, if any.
    """
    root: str
    images: Optional[str]
    masks: Optional[str]
    split_by: str
    val_fraction: float
    pairs: List[Pair] = field(default_factory=list)
    unpaired_images: List[str] = field(default_factory=list)
    unpaired_masks: List[str] = field(default_factory=list)
    unlisted: List[str] = field(default_factory=list)
    list_files: Dict[str, str] = field(default_factory=dict)

    def record(self) -> dict:
        """The arguments of :func:`find_layout` that find this layout again."""
        return dict(images=self.images, masks=self.masks, val_fraction=self.val_fraction)


def _subdirs(folder: str) -> Dict[str, str]:
    """Sub-folders of ``folder`` by lower-case name."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return {}
    return {e.name.lower(): e.name for e in entries
            if e.is_dir() and not e.name.startswith('.')}


def _pick(folder: str, given: Optional[str], names: Sequence[str], what: str,
          flag: str) -> str:
    """The name of the image or mask folder inside ``folder``."""
    if given:
        if not osp.isdir(osp.join(folder, given)):
            raise FolderDatasetError(f'{osp.join(folder, given)}: no such {what} folder '
                                     f'({flag} {given}); check the name')
        return given
    subdirs = _subdirs(folder)
    for name in names:
        if name in subdirs:
            return subdirs[name]
    found = ', '.join(sorted(subdirs.values())) or 'none'
    raise FolderDatasetError(
        f'{folder}: no {what} folder (looked for {", ".join(names[:6])}, ...; found '
        f'sub-folders: {found}); name it {names[0]}/ or pass {flag} NAME')


def _split_dirs(folder: str) -> Dict[str, str]:
    """``{'train': path, 'val': path}`` when ``folder`` has both split folders, else {}."""
    subdirs = _subdirs(folder)
    found = {}
    for split, names in SPLIT_NAMES.items():
        for name in names:
            if name in subdirs:
                found[split] = osp.join(folder, subdirs[name])
                break
    return found if len(found) == 2 else {}


def list_files(folder: str) -> Tuple[Dict[str, str], List[str]]:
    """Image files under ``folder`` by relative path without suffix, and the other files.

    Raises:
        FolderDatasetError: Two images with one name but different suffixes.
    """
    files: Dict[str, str] = {}
    others: List[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        for name in sorted(filenames):
            if name.startswith('.') or name.lower() in SYSTEM_FILES:
                continue
            path = osp.join(dirpath, name)
            stem, suffix = osp.splitext(osp.relpath(path, folder))
            if suffix.lower() not in IMAGE_SUFFIXES:
                others.append(path)
                continue
            key = stem.replace(os.sep, '/')
            if key in files:
                raise FolderDatasetError(
                    f'{path}: same name as {files[key]} but another suffix: the pairing by '
                    'name cannot tell which one is meant; remove or rename one of them')
            files[key] = path
    return files, others


def hash_split(key: str, val_fraction: float) -> str:
    """``'val'`` for about ``val_fraction`` of the keys, by a hash of the key (stable)."""
    value = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 2**32
    return 'val' if value < val_fraction else 'train'


def _read_list(path: str) -> List[str]:
    with open(path) as f:
        lines = [line.strip() for line in f]
    return [osp.splitext(line.split()[0])[0].replace('\\', '/') for line in lines
            if line and not line.startswith('#')]


def _find_lists(root: str) -> Dict[str, str]:
    for sub in LIST_DIRS:
        found = {split: osp.join(root, sub, f'{split}.txt') for split in SPLIT_NAMES}
        if all(osp.isfile(path) for path in found.values()):
            return found
    return {}


def _pair(images: Dict[str, str], masks: Dict[str, str], root: str,
          split_of) -> Tuple[List[Pair], List[str], List[str]]:
    pairs = []
    for key in sorted(images.keys() & masks.keys()):
        split = split_of(key)
        if split is not None:
            mask_key = osp.splitext(osp.relpath(masks[key], root))[0].replace(os.sep, '/')
            pairs.append(Pair(mask_key, images[key], masks[key], split))
    return (pairs, [images[k] for k in sorted(images.keys() - masks.keys())],
            [masks[k] for k in sorted(masks.keys() - images.keys())])


def find_layout(root: str, images: Optional[str] = None, masks: Optional[str] = None,
                val_fraction: float = 0.1) -> Layout:
    """Finds the pairs and the split of a folder (see the module docstring).

    Args:
        root (str): The user's folder.
        images (str, optional): Name of the image folder (default: looked for).
        masks (str, optional): Name of the mask folder (default: looked for).
        val_fraction (float): Validation share of the hash split (when the folder gives
            no split).

    Returns:
        Layout: The pairs, split, and the files without a partner.

    Raises:
        FolderDatasetError: No such folder, no image or mask folder, an empty folder,
            non-image files, or a split with no pair.
    """
    if not 0 < val_fraction < 1:
        raise FolderDatasetError(f'val_fraction={val_fraction} must be between 0 and 1')
    root = osp.abspath(root)
    if not osp.isdir(root):
        raise FolderDatasetError(f'{root}: no such folder; give the folder that holds the '
                                 'images and masks')
    if not any(not name.startswith('.') for name in os.listdir(root)):
        raise FolderDatasetError(f'{root}: the folder is empty; put the images in '
                                 f'{root}/images and their masks in {root}/masks')
    outer = _split_dirs(root)
    top = _subdirs(root)
    has_top_images = images is not None or any(n in top for n in IMAGE_DIR_NAMES)
    others: List[str] = []
    lists: Dict[str, str] = {}
    if outer and not has_top_images:
        split_by = 'outer'
        pairs, lone_images, lone_masks, names = [], [], [], set()
        for split, folder in outer.items():
            img_name = _pick(folder, images, IMAGE_DIR_NAMES, 'image', '--images')
            mask_name = _pick(folder, masks, MASK_DIR_NAMES, 'mask', '--masks')
            names.add((img_name, mask_name))
            found_images, bad_i = list_files(osp.join(folder, img_name))
            found_masks, bad_m = list_files(osp.join(folder, mask_name))
            others += bad_i + bad_m
            p, li, lm = _pair(found_images, found_masks, root, lambda key, s=split: s)
            pairs += p
            lone_images += li
            lone_masks += lm
        # one name for both splits is recorded; other names are looked for again
        images, masks = names.pop() if len(names) == 1 else (images, masks)
        unlisted: List[str] = []
    else:
        images = _pick(root, images, IMAGE_DIR_NAMES, 'image', '--images')
        masks = _pick(root, masks, MASK_DIR_NAMES, 'mask', '--masks')
        found_images, bad_i = list_files(osp.join(root, images))
        found_masks, bad_m = list_files(osp.join(root, masks))
        others = bad_i + bad_m
        inner = (_split_dirs(osp.join(root, images))
                 and _split_dirs(osp.join(root, masks)))
        lists = {} if inner else _find_lists(root)
        unlisted = []
        if inner:
            split_by = 'inner'
            first = {osp.basename(path).lower(): split for split, path in
                     _split_dirs(osp.join(root, images)).items()}

            def split_of(key):
                return first.get(key.split('/', 1)[0].lower())
        elif lists:
            split_by = 'lists'
            listed = {}
            for split, path in lists.items():
                for item in _read_list(path):
                    listed.setdefault(item, split)

            def split_of(key):
                return listed.get(key, listed.get(key.rsplit('/', 1)[-1]))
        else:
            split_by = 'hash'

            def split_of(key):
                return hash_split(key, val_fraction)
        pairs, lone_images, lone_masks = _pair(found_images, found_masks, root, split_of)
        if split_by == 'lists':
            unlisted = [found_images[k] for k in sorted(found_images.keys() & found_masks.keys())
                        if split_of(k) is None]
    if others:
        refuse(others, 'Files in the image/mask folders that are not images (suffixes '
               f'{", ".join(IMAGE_SUFFIXES)}); move them out of the folder')
    if not pairs and not lone_images and not lone_masks:
        raise FolderDatasetError(f'{root}: no image files in {images}/ or {masks}/ '
                                 f'(suffixes {", ".join(IMAGE_SUFFIXES)})')
    layout = Layout(root, images, masks, split_by, val_fraction, pairs, lone_images,
                    lone_masks, unlisted, lists)
    if split_by == 'hash' and len(pairs) >= 2:
        _at_least_one_each(layout)
    return layout


def _at_least_one_each(layout: Layout) -> None:
    """Moves the pair nearest the threshold so that each split of a hash split has one."""
    splits = [p.split for p in layout.pairs]
    for empty in ('val', 'train'):
        if empty not in splits:
            ranked = sorted(layout.pairs, key=lambda p: hashlib.sha1(
                osp.relpath(p.image, layout.root).encode()).hexdigest())
            # the pair whose image key hashes lowest goes to val, highest to train
            chosen = ranked[0] if empty == 'val' else ranked[-1]
            chosen.split = empty
            return
