"""Shims between the two framework stacks, torch and CPU-only machines (the only such module).

The plugin runs unchanged on the maintained fork (onedl-mmsegmentation 1.4.2,
onedl-mmengine 0.10.12) and on the original releases (mmsegmentation 1.2.2,
mmengine 0.10.7, mmcv 2.1.0); both with torch 2.13. Importing ``mmseg_psp_ext`` applies
:func:`allow_mmengine_checkpoints` once.

Checkpoints and ``torch.load(weights_only=True)``
    Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: it unpickles only
    tensors, containers, primitives and allowlisted globals. MMEngine checkpoints also
    hold the message hub (``HistoryBuffer`` objects whose arrays are numpy ndarrays, their
    statistics methods, numpy scalars such as ``eta``). mmengine 0.10.7 calls plain
    ``torch.load(filename)``, so loading or resuming its own checkpoints fails with
    ``Unsupported global: ... HistoryBuffer``. (onedl-mmengine retries with
    ``weights_only=False`` after a warning.)

    The fix here allowlists exactly what MMEngine writes, through
    ``torch.serialization.add_safe_globals``: ``HistoryBuffer``, ``numpy.ndarray`` and its
    ``_reconstruct``, ``numpy.dtype`` and the numeric dtype classes, and the numpy scalar
    constructor. The statistics methods are pickled as ``getattr(HistoryBuffer, 'min')``;
    instead of allowlisting the built-in ``getattr`` (which would resolve any attribute
    of any allowlisted object), ``builtins.getattr`` maps to :func:`_history_buffer_method`,
    which resolves only ``HistoryBuffer``'s registered statistics methods and refuses all
    else. ``weights_only`` stays on: a checkpoint with any other global still fails, and
    unpickling never runs arbitrary code. Turning ``weights_only`` off globally (or
    patching ``torch.load``) was rejected because it would silently re-open arbitrary code
    execution for every checkpoint any library loads.

    Entries are registered as ``(object, 'module.name')`` pairs so that onedl-mmengine's
    temporary ``torch.serialization.safe_globals`` context, which removes its own bare
    objects on exit, cannot remove them.

Process groups after a torchrun restart
    torchrun's workers meet in the agent's store (``TORCHELASTIC_USE_AGENT_STORE``),
    which outlives a restart of the worker group, and ``init_process_group`` keys the
    addresses of the processes by the group's name only: a restarted worker can read the
    address of a dead worker of the previous attempt (seen with gloo: "Connection refused",
    then a failed or hung restart). :func:`init_process_group_from_env` keys them by the
    attempt (``TORCHELASTIC_RESTART_COUNT``) instead.

Distributed runs without CUDA
    :func:`prepare_cpu_distributed` (through ``mmseg_psp_ext.engine.distributed``, called
    by ``tools/train.py`` and ``tools/test.py``) lets torchrun or srun start gloo
    processes on a CPU-only machine (MMEngine assumes a GPU each).
"""
import logging
import os
import pickle
from datetime import timedelta
from typing import Any, Callable, List, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

SafeGlobal = Tuple[Callable, str]
_HISTORY_BUFFER_METHODS = ('min', 'max', 'mean', 'current')


def _history_buffer_method(owner: Any, name: str) -> Callable:
    """``getattr`` restricted to the built-in statistics methods of ``HistoryBuffer``.

    Args:
        owner (Any): The object the checkpoint asks an attribute of.
        name (str): The attribute name.

    Returns:
        Callable: ``HistoryBuffer.<name>`` for ``min``, ``max``, ``mean``, ``current``.
    """
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'weights_only load: refused getattr({owner!r}, {name!r}); mmseg_psp_ext allows '
        'getattr only for the statistics methods of mmengine HistoryBuffer')


def _qualified(obj: Any) -> SafeGlobal:
    return obj, f'{obj.__module__}.{obj.__qualname__}'


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The non-tensor globals in MMEngine checkpoints, as ``(object, pickled name)`` pairs."""
    numpy_core = np._core if hasattr(np, '_core') else np.core
    safe = [_qualified(HistoryBuffer), _qualified(np.ndarray), _qualified(np.dtype),
            (_history_buffer_method, 'builtins.getattr')]
    # numpy 2 pickles these as numpy._core.multiarray.*, numpy 1 as numpy.core.multiarray.*:
    # accept both names so that a checkpoint loads under either numpy.
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        safe += [(numpy_core.multiarray._reconstruct, f'{module}._reconstruct'),
                 (numpy_core.multiarray.scalar, f'{module}.scalar')]
    # A pickled dtype is rebuilt by numpy.dtype(...) and then has its state set, which the
    # weights_only unpickler allows only for allowlisted types: the dtype's own class.
    numeric = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
               np.uint32, np.uint64, np.float16, np.float32, np.float64]
    safe += [_qualified(type(np.dtype(t))) for t in numeric]
    return safe


def allow_mmengine_checkpoints() -> None:
    """Lets ``torch.load(weights_only=True)`` read MMEngine checkpoints (resume included)."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:  # torch < 2.4 has no allowlist and loads them anyway
        add_safe_globals(mmengine_checkpoint_globals())


allow_mmengine_checkpoints()


def init_process_group_from_env(backend: str, **options: Any) -> None:
    """``init_process_group`` from torchrun's variables, safe across torchrun restarts.

    Args:
        backend (str): ``'gloo'`` or ``'nccl'``.
        **options: ``init_process_group`` options (``timeout`` as a ``timedelta``).
    """
    import torch.distributed as torch_dist

    timeout = options.pop('timeout', timedelta(minutes=30))
    rank, world_size = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
    store, _, _ = next(torch_dist.rendezvous('env://', rank, world_size, timeout=timeout))
    attempt = os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')
    store = torch_dist.PrefixStore(f'mmseg_psp_ext/attempt_{attempt}/', store)
    torch_dist.init_process_group(backend=backend, store=store, rank=rank,
                                  world_size=world_size, timeout=timeout, **options)


def prepare_cpu_distributed(cfg: Any) -> None:
    """Lets ``--launcher pytorch`` (torchrun) or ``slurm`` run on machines without CUDA.

    MMEngine (0.10.7 and 0.10.12) assumes a GPU per process when distributed: its
    ``init_dist`` calls ``torch.cuda.set_device`` (an ``AttributeError`` on CPU builds of
    torch) and its default wrapper passes ``device_ids=[LOCAL_RANK]`` to
    ``DistributedDataParallel`` (rejected for CPU modules). Without CUDA this function
    therefore initialises the process group itself from torchrun's environment
    (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``; for Slurm they are set
    from Slurm's by ``mmseg_psp_ext.engine.distributed``) with the config's backend,
    which must be ``gloo`` (``nccl`` is switched to ``gloo`` with a warning), sets
    ``device_ids=None`` for the wrapper and turns ``SyncBN`` into ``BN`` (torch's
    SyncBatchNorm runs only on accelerators), with a warning. With CUDA, or without a
    launcher, it does nothing.

    Args:
        cfg (Config): The run's config; ``cfg.launcher`` is already set. Changed in place.
    """
    import torch.distributed as torch_dist
    from mmengine.logging import print_log

    if cfg.get('launcher', 'none') not in ('pytorch', 'slurm') or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    backend = dist_cfg.get('backend', 'nccl')
    if backend == 'nccl':
        print_log('No CUDA: distributed backend nccl replaced by gloo', logger='current',
                  level=logging.WARNING)
        dist_cfg['backend'] = backend = 'gloo'
    if not torch_dist.is_initialized():
        options = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if 'timeout' in options and not isinstance(options['timeout'], timedelta):
            options['timeout'] = timedelta(seconds=options['timeout'])
        init_process_group_from_env(backend, **options)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if _replace_sync_bn(cfg.model):
        print_log('No CUDA: SyncBN layers replaced by BN (each process normalises its own '
                  'batch)', logger='current', level=logging.WARNING)


def _replace_sync_bn(node: Any) -> bool:
    """Replaces ``type='SyncBN'`` by ``'BN'`` in a config tree; tells whether any was."""
    found = False
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            found = True
        for value in node.values():
            found = _replace_sync_bn(value) or found
    elif isinstance(node, (list, tuple)):
        for value in node:
            found = _replace_sync_bn(value) or found
    return found
