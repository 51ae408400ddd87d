"""Helpers shared by the checkpoint converters: loading, checking, atomic saving."""
import re
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterable, Mapping, Optional

import torch

from mmseg_psp_ext.utils.atomic_io import atomic_write
from mmseg_psp_ext.utils.state_dict_keys import key_differences

StateDict = Dict[str, torch.Tensor]


class CheckpointMismatchError(ValueError):
    """A converted state dict does not fit the model it is meant for."""


def _natural(key: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', key)]


def _listing(keys: Iterable[str], limit: int = 12) -> str:
    keys = sorted(keys, key=_natural)
    shown = ', '.join(keys[:limit])
    return shown + (f', ... ({len(keys) - limit} more)' if len(keys) > limit else '')


def load_torch_checkpoint(path: str) -> dict:
    """Loads a PyTorch checkpoint on the CPU, holding only tensors and plain containers.

    Args:
        path (str): The ``.pth`` file.

    Returns:
        dict: The loaded object.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # pickles with custom classes, truncated files
        raise ValueError(f'{path}: cannot be read as a PyTorch checkpoint of tensors '
                         f'({type(err).__name__}: {err})') from err


def strip_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str) -> StateDict:
    """Removes ``prefix`` (e.g. DDP's ``module.``) from every key that has it."""
    return OrderedDict((k[len(prefix):] if k.startswith(prefix) else k, v)
                       for k, v in state_dict.items())


def check_against(state_dict: Mapping[str, torch.Tensor],
                  reference: Mapping[str, torch.Tensor],
                  source: str = 'converted checkpoint',
                  ignore_missing: Iterable[str] = ('num_batches_tracked', )) -> None:
    """Checks that ``state_dict`` has exactly the keys and shapes of ``reference``.

    Args:
        state_dict (Mapping[str, Tensor]): The converted weights.
        reference (Mapping[str, Tensor]): ``model.state_dict()`` of the target model.
        source (str): What ``state_dict`` is, for the error message.
        ignore_missing (Iterable[str]): Key suffixes that may be missing
            (BN's ``num_batches_tracked`` has no counterpart in other frameworks).

    Raises:
        CheckpointMismatchError: Naming the missing keys, the unexpected keys and the
            keys whose shapes differ, with both shapes (e.g. a class-count mismatch
            shows up as ``decode_head.conv_seg.weight``).
    """
    missing, unexpected, wrong_shape = key_differences(state_dict, reference, ignore_missing)
    wrong_shape = [f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
                   f'{tuple(reference[k].shape)}' for k in wrong_shape]
    if not (missing or unexpected or wrong_shape):
        return
    lines = [f'{source} does not fit the model:']
    if missing:
        lines.append(f'  missing keys ({len(missing)}): {_listing(missing)}')
    if unexpected:
        lines.append(f'  unexpected keys ({len(unexpected)}): {_listing(unexpected)}')
    if wrong_shape:
        lines.append(f'  shape mismatches ({len(wrong_shape)}): {_listing(wrong_shape, 6)}')
    if any(k.startswith('backbone.layer') for k in missing + unexpected):
        lines.append('  (backbone blocks differ: the depth of the checkpoint and of the config '
                     'differ)')
    if any(k.endswith('conv_seg.weight') for k in state_dict if k in reference
           and state_dict[k].shape[:1] != reference[k].shape[:1]):
        lines.append('  (conv_seg differs in its first dimension: the number of classes '
                     'of the checkpoint and of the config differ)')
    raise CheckpointMismatchError('\n'.join(lines))


def check_against_config(state_dict: Mapping[str, torch.Tensor], config: str,
                         source: str = 'converted checkpoint') -> None:
    """Builds the model of an MMSegmentation config and checks ``state_dict`` against it.

    Args:
        state_dict (Mapping[str, Tensor]): The converted weights.
        config (str): Path of the config the weights are meant for.
        source (str): What ``state_dict`` is, for the error message.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_psp_ext  # noqa: F401  (registers the plugin's modules)

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = cfg.model.copy()
    model_cfg.pop('pretrained', None)
    model_cfg.get('backbone', {}).pop('init_cfg', None)
    if MODELS.get(model_cfg.get('type')) is None:
        # A segmentor this install lacks (e.g. PSPEncoderDecoder in an older plugin):
        # the keys do not depend on the test protocol, so EncoderDecoder checks them.
        model_cfg['type'] = 'EncoderDecoder'
    _sync_bn_to_bn(model_cfg)
    model = MODELS.build(model_cfg)
    check_against(state_dict, model.state_dict(), f'{source} (checked against {config})')


def _sync_bn_to_bn(cfg) -> None:
    """Replaces SyncBN by BN in a model config, so that it builds without a process group."""
    if isinstance(cfg, dict):
        if cfg.get('type') == 'SyncBN':
            cfg['type'] = 'BN'
        for value in cfg.values():
            _sync_bn_to_bn(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            _sync_bn_to_bn(value)


def save_checkpoint(state_dict: Mapping[str, torch.Tensor], path: str,
                    meta: Optional[dict] = None) -> None:
    """Writes ``{'meta': ..., 'state_dict': ...}`` atomically (temp file, then rename).

    Args:
        state_dict (Mapping[str, Tensor]): Weights in MMSegmentation's layout.
        path (str): Output ``.pth`` file; its folder is created if needed.
        meta (dict, optional): Provenance stored under ``meta``.
    """
    save_atomic({'meta': dict(meta or {}), 'state_dict': OrderedDict(state_dict)}, path)


def save_atomic(obj: object, path: str) -> None:
    """``torch.save`` to a temp file in the target folder, then ``os.replace``."""
    atomic_write(path, lambda f: torch.save(obj, f))
