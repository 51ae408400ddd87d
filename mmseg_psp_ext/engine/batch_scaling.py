"""The global batch of a run against the config's, and MMEngine's linear lr scaling.

A config's learning rate is meant for one global batch: ``auto_scale_lr.base_batch_size``
when the config sets it (the paper configs: 16), else the ``{GPUs}xb{images}`` of
MMSegmentation-style file names (``..._4xb4-80k_...``: 16). The batch in the config is
per process, so a run on another number of GPUs trains with another global batch.
:func:`plan_batch` says so at start-up, and with ``--auto-scale-lr`` turns on MMEngine's
``auto_scale_lr`` (lr x this run's batch / base batch, applied by the runner when it
builds the optimizer) and says which rate that gives.
"""
import os.path as osp
import re
from typing import Any, Optional, Tuple

_NAMED_BATCH = re.compile(r'_(\d+)xb(\d+)[-_]')


def configured_batch(cfg: Any) -> Tuple[Optional[int], str]:
    """The global batch the config's lr is meant for, and where that figure comes from.

    Args:
        cfg (Config): The run's config (``cfg.filename`` for the name fallback).

    Returns:
        tuple: ``(batch, source)``; ``(None, '')`` when the config says nothing.
    """
    base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
    if base:
        return int(base), 'auto_scale_lr.base_batch_size'
    match = _NAMED_BATCH.search(osp.basename(getattr(cfg, 'filename', None) or ''))
    if match:
        gpus, images = int(match.group(1)), int(match.group(2))
        return gpus * images, f'the config name ({gpus}xb{images})'
    return None, ''


def plan_batch(cfg: Any, world_size: int, auto_scale_lr: bool) -> str:
    """Checks this run's global batch against the config's; sets up ``--auto-scale-lr``.

    Args:
        cfg (Config): The run's config; ``auto_scale_lr`` is set in place when
            ``auto_scale_lr`` is True.
        world_size (int): The number of training processes.
        auto_scale_lr (bool): ``--auto-scale-lr``: scale the lr linearly with the batch.

    Returns:
        str: The line to log at start-up (empty when the batches agree and nothing is
        scaled). It starts with ``WARNING`` when the run cannot make the configured batch
        and the lr is not scaled.

    Raises:
        ValueError: ``--auto-scale-lr`` on a config that gives no base batch.
    """
    per_process = int(cfg.train_dataloader.batch_size)
    accumulate = int(cfg.optim_wrapper.get('accumulative_counts', 1))
    batch = world_size * per_process
    spelled = f'{world_size} process(es) x {per_process} image(s)'
    base, source = configured_batch(cfg)
    lr = cfg.optim_wrapper.get('optimizer', {}).get('lr')
    if auto_scale_lr:
        if base is None:
            raise ValueError(
                '--auto-scale-lr needs the batch the config\'s lr is for: set '
                '--cfg-options auto_scale_lr.base_batch_size=N (GPUs x images per GPU)')
        cfg.auto_scale_lr = dict(enable=True, base_batch_size=base)
        ratio = batch / base
        rate = f'lr {lr:g} -> {lr * ratio:g}' if isinstance(lr, (int, float)) else 'lr'
        note = (f' (optim_wrapper.accumulative_counts={accumulate} is not counted, as in '
                'MMEngine)') if accumulate > 1 else ''
        return (f'--auto-scale-lr: the config\'s lr is for a global batch of {base} '
                f'({source}); this run has {batch} ({spelled}): {rate} (x{ratio:g}){note}')
    scaled = (cfg.get('auto_scale_lr') or {}).get('enable', False)
    if base is None or batch * accumulate == base or scaled:
        return ''
    steps = f'{batch * accumulate} ({spelled}' + (
        f' x {accumulate} accumulated)' if accumulate > 1 else ')')
    return (f'WARNING: this run cannot make the configured global batch: {steps} images per '
            f'step, the config is for {base} ({source}) and its lr {lr} is not scaled. '
            'Pass --auto-scale-lr to scale the lr linearly, or keep the batch with '
            'train_dataloader.batch_size / optim_wrapper.accumulative_counts '
            '(docs/distributed.md)')
