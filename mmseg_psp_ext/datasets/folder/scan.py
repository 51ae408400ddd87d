"""One pass over a pair: the image's size (header only) and the mask's value histogram.

This is the only pass that decodes every mask; the encoding, the report and the class
weights are all computed from its small per-file summaries.
"""
from typing import Dict, Optional, Tuple

import numpy as np
from PIL import Image

from ..sample_check import JPEG_SUFFIXES

#: Colours counted per mask before it is called "too many colours" (anti-aliased edges,
#: a photo or a JPEG saved as a mask).
MAX_COLOURS_PER_FILE = 1024


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 colours as one int32 ``0xRRGGBB`` each."""
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _histogram(mask: Image.Image) -> Tuple[str, Optional[Dict[int, int]], Optional[list]]:
    """(kind, {value: pixels} or None when too many colours, palette or None).

    ``kind`` is ``'values'`` (one channel: L, P, I, 1, or RGB with equal channels) or
    ``'colours'`` (values are ``0xRRGGBB``). Palette files keep their indices.
    """
    palette = None
    if mask.mode == 'P':
        palette = mask.getpalette()
        if 'transparency' in mask.info:
            mask.info.pop('transparency')
    if mask.mode in ('L', 'P', '1'):
        array = np.asarray(mask if mask.mode != '1' else mask.convert('L'))
        counts = np.bincount(array.ravel(), minlength=256)
        found = np.flatnonzero(counts)
        return 'values', dict(zip(found.tolist(), counts[found].tolist())), palette
    if mask.mode in ('I', 'I;16', 'I;16B', 'I;16L', 'F'):
        values, counts = np.unique(np.asarray(mask), return_counts=True)
        return 'values', dict(zip(values.astype(np.int64).tolist(), counts.tolist())), None
    if mask.mode == 'LA':
        return _histogram(mask.getchannel('L'))
    rgb = mask.convert('RGB')
    colours = rgb.getcolors(MAX_COLOURS_PER_FILE)  # C hash count: no sort, no copy
    if colours is None:
        return 'colours', None, None
    if all(r == g == b for _, (r, g, b) in colours):
        return 'values', {c[0]: n for n, c in colours}, None
    return 'colours', {(r << 16) | (g << 8) | b: n for n, (r, g, b) in colours}, None


def scan_pair(item: Tuple[str, str, str]) -> dict:
    """Reads one pair's sizes and mask histogram; never raises for a bad file.

    Args:
        item (tuple): ``(key, image path, mask path)``.

    Returns:
        dict: ``key``, ``image_size`` and ``mask_size`` (width, height, or None),
        ``mode`` (the mask's PIL mode), ``kind``, ``hist``, ``palette`` and
        ``problems`` (unreadable files).
    """
    key, image_path, mask_path = item
    out = dict(key=key, image_size=None, mask_size=None, mode=None, kind=None, hist=None,
               palette=None, problems=[])
    try:
        with Image.open(image_path) as image:  # the header only
            out['image_size'] = image.size
    except Exception as err:  # noqa: BLE001  (reported with the file)
        out['problems'].append(f'{image_path}: unreadable image ({type(err).__name__}: '
                               f'{err}): replace the file or remove it and its mask')
    if mask_path.lower().endswith(JPEG_SUFFIXES):
        out['problems'].append(
            f'{mask_path}: a JPEG mask: JPEG is lossy, so colours and values bleed into '
            'each other at every edge; export the masks as PNG from the labelling tool')
        return out
    try:
        with Image.open(mask_path) as mask:
            out['mask_size'] = mask.size
            out['mode'] = mask.mode
            mask.load()
            out['kind'], out['hist'], out['palette'] = _histogram(mask)
    except Exception as err:  # noqa: BLE001
        out['problems'].append(f'{mask_path}: unreadable mask ({type(err).__name__}: '
                               f'{err}): replace the file or remove it and its image')
    return out
