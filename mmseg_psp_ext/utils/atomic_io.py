"""Writes that never leave a half-written file behind: a temp file, fsync, then ``os.replace``.

The temporary file lives in the destination's folder (a rename within one file system is
atomic), is flushed to disk before the rename, and the folder is synced after it, so that
after a crash or power loss the path holds either the old content or the complete new one.
Files get the mode an ordinary ``open(path, 'w')`` would give them (``0o666`` less the
process umask), not the ``0o600`` of :func:`tempfile.mkstemp`.
"""
import contextlib
import os
import os.path as osp
import secrets
import shutil
import tempfile
from typing import IO, Callable, Iterable, Iterator

import numpy as np
from PIL import Image


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux).

    Returns:
        int: The umask, e.g. ``0o022``.
    """
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


def fsync_dir(folder: str) -> None:
    """Flushes a folder's entries (a rename in it) to disk; a no-op where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(fd)


def temp_path_beside(path: str) -> str:
    """A fresh hidden name in the folder of ``path`` for its temporary file."""
    return osp.join(osp.dirname(osp.abspath(path)),
                    f'.{osp.basename(path)}.{secrets.token_hex(4)}.tmp')


def replace_atomically(tmp: str, path: str) -> None:
    """Syncs the complete file ``tmp`` to disk, renames it to ``path`` and syncs the folder.

    Args:
        tmp (str): The finished temporary file, in the same folder as ``path``.
        path (str): The destination, replaced if it exists.
    """
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(osp.dirname(osp.abspath(path)))


def atomic_write(path: str, write: Callable[[IO], object], mode: str = 'wb') -> None:
    """Calls ``write`` on a temp file beside ``path``, then renames it to ``path``.

    Args:
        path (str): The file to create or replace; its folder is created if needed.
        write (Callable[[IO], object]): Writes the content to the open file it is given.
        mode (str): ``'wb'`` for bytes, ``'w'`` for text.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    while True:
        tmp = temp_path_beside(path)
        try:
            # 0o666 filtered by the umask, as open() does; O_EXCL: never reuse a name.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(osp.dirname(osp.abspath(path)))
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


@contextlib.contextmanager
def atomic_folder(out_dir: str, overwrite: bool = False) -> Iterator[str]:
    """Yields a temporary folder beside ``out_dir`` that becomes ``out_dir`` at the end.

    An interrupted or failed block leaves nothing at ``out_dir`` (the temporary folder is
    removed); with ``overwrite`` an existing ``out_dir`` is moved aside and swapped out.

    Args:
        out_dir (str): The folder to create; an empty existing folder counts as absent.
        overwrite (bool): Replace an existing ``out_dir``; otherwise it is an error.

    Raises:
        FileExistsError: ``out_dir`` exists and is not empty, without ``overwrite``.
    """
    out_dir = osp.abspath(out_dir)
    if osp.isdir(out_dir) and not os.listdir(out_dir):
        os.rmdir(out_dir)  # an empty folder counts as absent
    if osp.exists(out_dir) and not overwrite:
        raise FileExistsError(f'{out_dir} already exists; pass overwrite=True (--overwrite) '
                              'to replace it')
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.tmp-', dir=parent)
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700; it is renamed
        yield tmp
        old = None
        if osp.exists(out_dir):  # overwrite: move the old folder aside, then swap
            old = tempfile.mkdtemp(prefix=f'.{osp.basename(out_dir)}.old-', dir=parent)
            os.replace(out_dir, osp.join(old, 'data'))
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
