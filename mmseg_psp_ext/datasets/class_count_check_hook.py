"""Stops a run before iteration 1 when the heads have fewer classes than the dataset."""
import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS
from torch import nn


def head_class_counts(model) -> dict:
    """``{'decode_head': n, 'auxiliary_head': n, ...}`` of a (wrapped) segmentor."""
    model = getattr(model, 'module', model)  # DDP/FSDP wrappers
    counts = {}
    for name in ('decode_head', 'auxiliary_head'):
        heads = getattr(model, name, None)
        if heads is None:
            continue
        heads = list(heads) if isinstance(heads, (list, tuple, nn.ModuleList)) else [heads]
        for i, head in enumerate(heads):
            if hasattr(head, 'num_classes'):
                counts[name if len(heads) == 1 else f'{name}.{i}'] = head.num_classes
    return counts


@HOOKS.register_module()
class ClassCountCheckHook(Hook):
    """Compares the heads' ``num_classes`` with the training set's classes before training.

    Labels are checked against the dataset's classes (``CheckSegSample``); a head with
    fewer classes would still fail inside the loss (``Target N is out of bounds``) or a
    device-side assert, so that is an error here, naming both numbers. More classes
    than the dataset has is only a warning. The default runtime config adds it.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if not classes:
            return
        for name, count in head_class_counts(runner.model).items():
            message = (f'model.{name}.num_classes={count} but the training set '
                       f'{type(dataset).__name__} has {len(classes)} classes')
            if count < len(classes):
                raise ValueError(
                    f'{message}: labels up to {len(classes) - 1} would be out of bounds in '
                    f'the loss. Set model.{name}.num_classes={len(classes)} (e.g. '
                    f'--cfg-options model.{name}.num_classes={len(classes)}), or give the '
                    'dataset the classes the model has (metainfo=dict(classes=...)).')
            if count > len(classes):
                print_log(f'{message}; the extra outputs are never trained.',
                          logger='current', level=logging.WARNING)
