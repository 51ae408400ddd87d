"""Choosing the checkpoint to resume from, skipping corrupt or truncated ones; safe loading."""
import os
import os.path as osp
import pickle
import re
import warnings
import zipfile
from typing import Any, List, Optional, Tuple

import torch

from ..utils.checkpoint_error import CheckpointError

_NUMBERED = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')
# torch's wordings: "Unsupported global: GLOBAL x.y", "unsupported GLOBAL x.y whose module
# x is blocked"; compat's getattr guard: "refused getattr(...)".
_FOREIGN = re.compile(r'unsupported (?:global: )?GLOBAL (\S+)|refused getattr\([^)]*\)',
                      re.IGNORECASE)


def load_weights_only(path: str, **kwargs: Any) -> Any:
    """``torch.load(path, weights_only=True)``: a checkpoint that would run code is refused.

    Only tensors, containers, primitives and the MMEngine objects allowlisted by
    ``mmseg_psp_ext.compat`` are unpickled.

    Args:
        path (str): The checkpoint file.
        **kwargs: More ``torch.load`` options (``mmap``...); ``map_location`` is ``'cpu'``.

    Returns:
        Any: The loaded object.

    Raises:
        CheckpointError: When the file holds a global outside the allowlist, naming it.
    """
    kwargs.setdefault('map_location', 'cpu')
    try:
        return torch.load(path, weights_only=True, **kwargs)
    except pickle.UnpicklingError as err:
        found = _FOREIGN.search(str(err))
        if found is None:
            raise
        name = found.group(1) or found.group(0)
        raise CheckpointError(
            f'{path}: refused: it holds {name}, which a weights-only load does not allow '
            '(loading it could run code). Only tensors, containers and MMEngine\'s own '
            'objects are loaded; if you trust its author, re-save the state dict and meta '
            'from Python without that object') from err


def check_checkpoint(path: str) -> None:
    """Checks that a checkpoint file is complete and intact, without unpickling it fully.

    A file written by ``torch.save`` is a zip archive: a truncated one has no central
    directory, and a corrupt one fails the CRC-32 check of a member; its pickle is then
    read with ``weights_only=True`` and the tensors memory-mapped (not read). Files in the
    old (non-zip) format are loaded in full, also with ``weights_only=True``. A checkpoint
    holding any other global is refused (:func:`load_weights_only`), before MMEngine
    (whose onedl release falls back to a full unpickling) sees it.

    Args:
        path (str): The checkpoint file.

    Raises:
        CheckpointError: Naming ``path`` and what is wrong with it.
    """
    if not osp.isfile(path):
        raise CheckpointError(f'{path}: no such file')
    size = osp.getsize(path)
    try:
        with open(path, 'rb') as f:
            is_zip = f.read(4) == b'PK\x03\x04'
        if is_zip:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
            if bad is not None:
                raise CheckpointError(f'{path}: corrupt (CRC mismatch in {bad})')
            load_weights_only(path, mmap=True)
        else:
            load_weights_only(path)
    except CheckpointError:
        raise
    except zipfile.BadZipFile as err:
        raise CheckpointError(f'{path}: cannot be read ({size} bytes; truncated or corrupt: '
                              f'the zip archive torch.save writes is incomplete: {err})'
                              ) from err
    except Exception as err:  # unpickling error, I/O error
        raise CheckpointError(f'{path}: cannot be read ({size} bytes; truncated or corrupt: '
                              f'{type(err).__name__}: {err})') from err


def _numbered_checkpoints(folder: str) -> List[str]:
    """``iter_N.pth`` / ``epoch_N.pth`` in ``folder``, newest (highest N) first."""
    if not osp.isdir(folder):
        return []
    found: List[Tuple[int, str]] = []
    for name in os.listdir(folder):
        match = _NUMBERED.match(name)
        if match:
            found.append((int(match.group(1)), osp.join(folder, name)))
    return [path for _, path in sorted(found, reverse=True)]


def find_resumable_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The newest checkpoint of ``work_dir`` that loads, and the ones skipped on the way.

    Tries the file ``work_dir/last_checkpoint`` points to, then every ``iter_N.pth`` and
    ``epoch_N.pth`` of its folder and of ``work_dir``, highest N first. Each file that
    does not load is reported with a warning naming it.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple: The checkpoint to resume from (None when the work dir holds none) and the
        messages for the files that were skipped.

    Raises:
        CheckpointError: When checkpoints exist but none of them loads; the message lists
            every file tried and why it failed.
    """
    candidates: List[str] = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            latest = f.read().strip()
        if latest:
            candidates.append(latest)
            candidates += _numbered_checkpoints(osp.dirname(latest))
    candidates += _numbered_checkpoints(work_dir)
    seen = set()
    candidates = [c for c in candidates
                  if not (osp.abspath(c) in seen or seen.add(osp.abspath(c)))]
    if not candidates:
        return None, []
    failures: List[str] = []
    for path in candidates:
        try:
            check_checkpoint(path)
        except CheckpointError as err:
            failures.append(str(err))
            warnings.warn(f'Cannot resume from {err}; trying an older checkpoint',
                          stacklevel=2)
            continue
        if failures:
            warnings.warn(f'Resuming from {path}, the newest checkpoint that loads',
                          stacklevel=2)
        return path, failures
    raise CheckpointError(
        f'No checkpoint in {work_dir} can be loaded to resume from. Tried, newest first:\n  '
        + '\n  '.join(failures) + '\nStart afresh without --resume (or with another '
        '--work-dir), or resume from a file of your own with --resume PATH.')
