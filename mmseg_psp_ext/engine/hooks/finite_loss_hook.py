"""Stops (or skips the step) on a NaN or infinite loss; never saves non-finite weights."""
import math
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmseg.registry import HOOKS


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Guards training against NaN and infinite losses.

    Before each optimizer step the total loss is checked (one scalar, synchronised across
    processes so that all of them agree). A non-finite loss is never back-propagated: the
    weights stay those of the last good step. Then, with ``action='stop'``, the run stops
    with a ``FloatingPointError`` naming the iteration, every loss term with its value
    (the non-finite ones marked) and the last checkpoint saved; with ``action='skip'`` the
    step is skipped with a warning, the BatchNorm running statistics of that forward pass
    are rolled back, and training goes on (at most ``max_skips`` times).

    Independently of the loss, every checkpoint is checked before it is written: one
    with a non-finite weight or buffer is refused with an error naming the keys, so the
    previous checkpoints stay the newest.

    Args:
        action (str): ``'stop'`` (default) or ``'skip'``.
        max_skips (int): With ``'skip'``, the run stops when more steps than this were
            skipped. Defaults to 100.
    """

    priority = 'ABOVE_NORMAL'  # before LoggerHook and CheckpointHook in after_train_iter

    def __init__(self, action: str = 'stop', max_skips: int = 100) -> None:
        if action not in ('stop', 'skip'):
            raise ValueError(f"FiniteLossHook: action={action!r}, expected 'stop' or 'skip'")
        self.action = action
        self.max_skips = max_skips
        self.skipped: List[int] = []
        self._nonfinite = False
        self._buffers: Optional[List[torch.Tensor]] = None

    def before_train(self, runner) -> None:
        wrappers = runner.optim_wrapper
        if isinstance(wrappers, OptimWrapperDict):
            wrappers = list(wrappers.values())
        elif isinstance(wrappers, OptimWrapper):
            wrappers = [wrappers]
        else:
            wrappers = []
        for wrapper in wrappers:
            self._guard(wrapper)

    def _guard(self, wrapper: OptimWrapper) -> None:
        """Makes ``wrapper.update_params`` skip back-propagation of a non-finite loss."""
        update_params = wrapper.update_params

        def guarded_update_params(loss: torch.Tensor, *args, **kwargs):
            finite = torch.isfinite(loss.detach()).all().to(torch.float32).reshape(1)
            if get_world_size() > 1:  # every process must skip together (DDP)
                all_reduce(finite, op='min')
            if finite.item() < 1:
                self._nonfinite = True
                wrapper.zero_grad()
                return None
            return update_params(loss, *args, **kwargs)

        wrapper.update_params = guarded_update_params

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._nonfinite = False
        if self.action == 'skip':  # BN statistics, to roll back a skipped forward pass
            self._buffers = [b.detach().clone() for b in runner.model.buffers()]

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        if not self._nonfinite:
            return
        iteration = runner.iter + 1
        terms = _describe_losses(outputs or {})
        if self.action == 'skip' and len(self.skipped) < self.max_skips:
            self.skipped.append(iteration)
            if self._buffers is not None:
                with torch.no_grad():
                    for buffer, saved in zip(runner.model.buffers(), self._buffers):
                        buffer.copy_(saved)
            print_log(f'Non-finite loss at iteration {iteration} ({terms}): step skipped, '
                      f'weights unchanged ({len(self.skipped)} skipped so far)',
                      logger='current', level=30)
            return
        too_many = (f' ({len(self.skipped)} steps were skipped already, max_skips='
                    f'{self.max_skips})' if self.action == 'skip' else '')
        raise FloatingPointError(
            f'Non-finite loss at iteration {iteration}: {terms}{too_many}. The weights were '
            'not updated with it. Last good checkpoint: '
            f'{_last_checkpoint(runner) or "none saved yet"}. To go on, lower the learning '
            'rate or fix the data and resume with `tools/train.py CONFIG --resume`; or skip '
            "such steps with custom_hooks=[dict(type='FiniteLossHook', action='skip')]")

    def after_train(self, runner) -> None:
        if self.skipped:
            print_log(f'FiniteLossHook skipped {len(self.skipped)} steps with a non-finite '
                      f'loss, at iterations {self.skipped}', logger='current', level=30)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = [key for key, value in checkpoint.get('state_dict', {}).items()
               if torch.is_tensor(value) and value.is_floating_point()
               and not torch.isfinite(value).all()]
        if bad:
            shown = ', '.join(bad[:5]) + (f' and {len(bad) - 5} more' if len(bad) > 5 else '')
            raise FloatingPointError(
                f'Refusing to save the checkpoint of iteration '
                f'{checkpoint.get("meta", {}).get("iter", runner.iter + 1)}: non-finite '
                f'values in {shown}. Last good checkpoint: '
                f'{_last_checkpoint(runner) or "none saved yet"}')


def _describe_losses(outputs: Dict) -> str:
    """``'loss=nan (non-finite), decode.loss_ce=nan (non-finite), aux.loss_ce=1.2'``."""
    parts = []
    for key, value in outputs.items():
        if 'loss' not in key:
            continue
        number = float(value.detach().float().mean()) if torch.is_tensor(value) else float(value)
        mark = '' if math.isfinite(number) else ' (non-finite)'
        parts.append(f'{key}={number:.6g}{mark}')
    if parts and not any('non-finite' in part for part in parts):
        parts.append('non-finite on another process')
    return ', '.join(parts) or 'no loss terms logged'


def _last_checkpoint(runner) -> Optional[str]:
    """The newest complete checkpoint: ``last_checkpoint`` is replaced after each save."""
    pointer = osp.join(runner.work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            return f.read().strip() or None
    return None
