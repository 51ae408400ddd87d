"""``load_from`` that says what it does: fine-tuning to another class count, else a fit.

MMEngine loads ``load_from`` with ``strict=False``: a checkpoint with another class count
prints a long "size mismatch" warning and leaves the two classifiers as they were, a
checkpoint of another network silently leaves whole layers untrained, and testing with
the wrong checkpoint scores noise. This hook sees the checkpoint in
``after_load_checkpoint``, before MMEngine loads it, and decides:

- training from ``load_from`` (not resuming): the classifiers ``decode_head.conv_seg``
  and ``auxiliary_head.conv_seg`` may have another number of classes; they are
  re-initialised the way their head initialises them and every other tensor is loaded,
  in one log line. Any other difference (another depth, another head, missing or
  unexpected keys) stops the run before training, naming the keys.
- testing or validating (``tools/test.py``, ``mim test``): the checkpoint must fit, as
  for ``tools/infer.py``: missing keys and shape mismatches stop with the keys named.
- resuming: untouched (MMEngine's own loading).

A checkpoint that fits is left as it is, so MMEngine loads it as before, silently.
"""
import logging
import re
from typing import Dict, List

import torch
from mmengine.dist import broadcast
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.registry import WEIGHT_INITIALIZERS
from mmengine.runner import BaseLoop
from mmseg.registry import HOOKS
from torch import nn

from ...deploy.loading import CheckpointError, check_fits, describe_differences
from ...utils.state_dict_keys import key_differences

# The classifiers of the decode head and the auxiliary head(s): their first dimension is
# the class count (``auxiliary_head.N.`` when the config gives a list of heads).
CLASSIFIER = re.compile(r'^(decode_head|auxiliary_head)(\.\d+)?\.conv_seg\.(weight|bias)$')
# MMEngine's loader does not report these as missing either (old checkpoints lack them).
IGNORE_MISSING = ('num_batches_tracked', )
# BaseDecodeHead's init_cfg: dict(type='Normal', std=0.01, override=dict(name='conv_seg')).
DEFAULT_CLASSIFIER_INIT = dict(type='Normal', std=0.01)


def unwrapped_model(model: nn.Module) -> nn.Module:
    """The segmentor inside DDP/FSDP wrappers and ``SegTTAModel``, as MMEngine loads it."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def classifier_init_cfg(head: nn.Module) -> dict:
    """The initialiser a head gives its ``conv_seg``: the ``override`` in its ``init_cfg``.

    Args:
        head (nn.Module): A decode or auxiliary head.

    Returns:
        dict: An MMEngine weight-initialiser config, e.g. ``dict(type='Normal', std=0.01)``
        (the override's own keys over its parent's), MMSegmentation's default otherwise.
    """
    cfgs = head.init_cfg if isinstance(head.init_cfg, list) else [head.init_cfg]
    for cfg in filter(None, cfgs):
        overrides = cfg.get('override') or []
        for override in overrides if isinstance(overrides, list) else [overrides]:
            if override.get('name') == 'conv_seg':
                merged = {k: v for k, v in cfg.items() if k not in ('override', 'layer')}
                merged.update({k: v for k, v in override.items() if k != 'name'})
                return merged
    return dict(DEFAULT_CLASSIFIER_INIT)


def reinitialise(model: nn.Module, keys: List[str]) -> Dict[str, str]:
    """Re-initialises the classifiers owning ``keys`` in place, as their heads do.

    In a distributed run rank 0's values are broadcast, so every process starts equal.

    Args:
        model (nn.Module): The unwrapped segmentor.
        keys (list[str]): ``...conv_seg.weight`` / ``...conv_seg.bias`` keys.

    Returns:
        dict[str, str]: The classifier module names and the initialiser used, for the log.
    """
    used = {}
    for name in dict.fromkeys(k.rsplit('.', 1)[0] for k in keys):
        head_name = name.rsplit('.', 1)[0]
        conv_seg, head = model.get_submodule(name), model.get_submodule(head_name)
        cfg = classifier_init_cfg(head)
        initialiser = WEIGHT_INITIALIZERS.build(cfg)
        initialiser.wholemodule = True  # the whole conv_seg, as an init_cfg override does
        with torch.no_grad():
            initialiser(conv_seg)
            for tensor in conv_seg.state_dict().values():
                broadcast(tensor, src=0)
        used[name] = ', '.join(f'{k}={v}' for k, v in cfg.items())
    return used


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Fine-tunes from a checkpoint with another class count, else requires a fit.

    In the default runtime config (``custom_hooks``). See the module docstring for what
    it does in training, testing and resuming.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner._resume:  # resuming: MMEngine's own loading, unchanged
            return
        state_dict = checkpoint.get('state_dict', checkpoint)
        names = {re.sub(r'^module\.', '', k): k for k in state_dict}  # MMEngine strips it
        weights = {name: state_dict[key] for name, key in names.items()}
        model = unwrapped_model(runner.model)
        own = model.state_dict()
        source = str(runner._load_from)
        config = runner.cfg.filename or 'the config'
        if not isinstance(runner._train_loop, BaseLoop):  # test or val: it must fit
            unexpected = check_fits(weights, own, source, config, IGNORE_MISSING)
            if unexpected:
                print_log(f'{source}: ignoring keys the model does not have: '
                          f'{", ".join(unexpected)}', logger='current', level=logging.WARNING)
            return
        differences = key_differences(weights, own, IGNORE_MISSING)
        classifiers = [k for k in differences.mismatched if CLASSIFIER.match(k)
                       and weights[k].shape[1:] == own[k].shape[1:]]
        others = differences._replace(
            mismatched=[k for k in differences.mismatched if k not in classifiers])
        if others.missing or others.unexpected or others.mismatched:
            raise CheckpointError(
                f'load_from {source!r} does not fit the model of {config} beyond its '
                'classifiers: only decode_head.conv_seg and auxiliary_head.conv_seg may '
                'differ, in their number of classes, when fine-tuning; is it a checkpoint '
                'of this network (same backbone, depth and heads)? '
                + '; '.join(describe_differences(others, weights, own)))
        if not classifiers:
            return  # it fits: MMEngine loads every tensor, silently
        initialisers = reinitialise(model, classifiers)
        fresh = model.state_dict()
        for key in classifiers:
            state_dict[names[key]] = fresh[key].detach().clone()
        old = sorted({weights[k].shape[0] for k in classifiers})
        new = sorted({own[k].shape[0] for k in classifiers})
        loaded = sum(1 for k in own if k in weights and k not in classifiers)
        how = '; '.join(f'{name}: {init}' for name, init in initialisers.items())
        print_log(
            f'Fine-tuning from {source}: its classifiers have '
            f'{"/".join(map(str, old))} classes, the model '
            f'{"/".join(map(str, new))}: re-initialised {", ".join(classifiers)} '
            f'({how}); loaded the other {loaded} of {len(own)} tensors.',
            logger='current', level=logging.INFO)
