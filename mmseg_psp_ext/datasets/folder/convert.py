"""Writes index masks for colour and 0/255 masks, beside the originals, never over them."""
import json
import os
import os.path as osp
from typing import List, Tuple

import numpy as np
from PIL import Image

from ...utils.atomic_io import atomic_write, atomic_write_png
from ..sample_check import parallel_map
from .encoding import IGNORE, value_to_class
from .layout import FolderDatasetError, Pair
from .scan import pack_rgb

#: The marker that makes a folder ours to rewrite.
MARKER = '.mmseg_psp_ext_index_masks.json'
CONVERTED_DIR = 'index_masks'


def needs_conversion(encoding: dict) -> bool:
    """Colour masks and 0/255 masks are converted; index and palette masks are used as is."""
    return encoding['kind'] in ('rgb', 'binary')


def converted_path(seg_root: str, key: str) -> str:
    """Where the index mask of the pair with ``key`` goes."""
    return osp.join(seg_root, *key.split('/')) + '.png'


def _lookup(encoding: dict) -> Tuple[np.ndarray, np.ndarray]:
    """(sorted file values, class of each, 255 for ignore) for ``np.searchsorted``."""
    table = value_to_class(encoding)
    keys = np.array(sorted(table), np.int64)
    classes = np.array([255 if table[k] == IGNORE else table[k] for k in keys], np.uint8)
    return keys, classes


def convert_mask(mask_path: str, encoding: dict) -> np.ndarray:
    """One mask as class indices (uint8, 255 = ignore).

    Raises:
        FolderDatasetError: A value or colour the encoding does not know (the file
            changed since the inspection).
    """
    with Image.open(mask_path) as mask:
        if encoding['kind'] == 'rgb':
            values = pack_rgb(np.asarray(mask.convert('RGB')))
        else:
            values = np.asarray(mask.convert('L') if mask.mode not in ('L', 'P') else mask)
            values = values.astype(np.int64)
    keys, classes = _lookup(encoding)
    pos = np.clip(np.searchsorted(keys, values), 0, len(keys) - 1)
    if not np.array_equal(keys[pos], values):
        raise FolderDatasetError(f'{mask_path}: values changed since the inspection; run '
                                 'tools/folder_dataset.py again')
    return classes[pos]


def _convert_one(item: Tuple[str, str, dict]) -> None:
    mask_path, out_path, encoding = item
    atomic_write_png(out_path, convert_mask(mask_path, encoding))


def prepare_output(seg_root: str, data_root: str, encoding: dict) -> None:
    """Creates ``seg_root`` (or reuses one we wrote), refusing a folder of the user's."""
    if osp.abspath(seg_root) == osp.abspath(data_root):
        raise FolderDatasetError(f'{seg_root}: the converted masks would go over the '
                                 'originals; choose another --work-dir')
    if osp.isdir(seg_root) and os.listdir(seg_root) \
            and not osp.isfile(osp.join(seg_root, MARKER)):
        raise FolderDatasetError(
            f'{seg_root} exists and was not written by tools/folder_dataset.py: it is not '
            'overwritten; move it away or choose another --work-dir')
    os.makedirs(seg_root, exist_ok=True)
    record = dict(source=osp.abspath(data_root), mask_encoding=encoding)
    atomic_write(osp.join(seg_root, MARKER),
                 lambda f: json.dump(record, f, indent=1), mode='w')


def convert_masks(pairs: List[Pair], seg_root: str, data_root: str, encoding: dict,
                  nproc: int = 2, progress: bool = True) -> int:
    """Writes the index mask of every pair under ``seg_root`` (atomically, in parallel).

    Args:
        pairs (list[Pair]): The pairs; ``pair.key`` names the output file.
        seg_root (str): The output folder (``DATA/index_masks`` or ``WORK_DIR/index_masks``).
        data_root (str): The user's folder (refused as the output).
        encoding (dict): The masks' encoding (``'rgb'`` or ``'binary'``).
        nproc (int): Processes.
        progress (bool): Show a progress bar.

    Returns:
        int: The number of masks written.
    """
    prepare_output(seg_root, data_root, encoding)
    items = [(p.mask, converted_path(seg_root, p.key), encoding) for p in pairs]
    parallel_map(_convert_one, items, nproc, desc='converting masks', progress=progress,
                 unit='mask')
    return len(items)
