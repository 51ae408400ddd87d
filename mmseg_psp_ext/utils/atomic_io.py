"""Writes that never leave a half-written file behind: a temp file, then ``os.replace``."""
import os
import os.path as osp
import tempfile
from typing import Iterable

import numpy as np
from PIL import Image


def _atomic_write(path: str, write, mode: str = 'wb') -> None:
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.' + osp.basename(path) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_png(path: str, array: np.ndarray) -> None:
    """Saves a label map (uint8, or uint16 for instance ids) as PNG, atomically."""
    _atomic_write(path, lambda f: Image.fromarray(array).save(f, format='PNG'))


def atomic_write_lines(path: str, lines: Iterable[str]) -> None:
    """Writes one item a line, atomically."""
    _atomic_write(path, lambda f: f.writelines(f'{line}\n' for line in lines), mode='w')
