"""Writes that never leave a half-written file behind: a temp file, then ``os.replace``."""
import os
import os.path as osp
import tempfile
from typing import IO, Callable, Iterable

import numpy as np
from PIL import Image


def atomic_write(path: str, write: Callable[[IO], object], mode: str = 'wb') -> None:
    """Calls ``write`` on a temp file beside ``path``, then renames it to ``path``.

    Args:
        path (str): The file to create or replace; its folder is created if needed.
        write (Callable[[IO], object]): Writes the content to the open file it is given.
        mode (str): ``'wb'`` for bytes, ``'w'`` for text.
    """
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
    atomic_write(path, lambda f: Image.fromarray(array).save(f, format='PNG'))


def atomic_write_lines(path: str, lines: Iterable[str]) -> None:
    """Writes one item a line, atomically."""
    atomic_write(path, lambda f: f.writelines(f'{line}\n' for line in lines), mode='w')
