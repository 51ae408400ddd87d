"""Builds a segmentor from a config and loads a checkpoint, failing clearly on a mismatch.

``mmseg.apis.init_model`` loads non-strictly: a checkpoint of another model leaves the
missing layers random with a log warning, and inference then silently gives noise. The
tools (``tools/infer.py``, ``tools/export_onnx.py``) load through :func:`load_segmentor`,
which stops on a file that is not a checkpoint, on missing keys and on shape mismatches.
"""
import copy
import inspect
import os.path as osp
import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader
from mmseg.registry import DATASETS, MODELS

from ..utils.checkpoint_error import CheckpointError
from ..utils.state_dict_keys import KeyDifferences, key_differences
from ..visualization.segment import model_classes_palette

MAX_LISTED_KEYS = 5


def _listed(keys) -> str:
    keys = sorted(keys)
    more = f' ... ({len(keys) - MAX_LISTED_KEYS} more)' if len(keys) > MAX_LISTED_KEYS else ''
    return ', '.join(keys[:MAX_LISTED_KEYS]) + more


def read_state_dict(checkpoint: str) -> Dict[str, Any]:
    """The checkpoint's dict (with ``state_dict`` and ``meta`` when MMEngine wrote it).

    Args:
        checkpoint (str): A local path or an http(s) URL.

    Returns:
        dict: ``{'state_dict': ..., 'meta': ...}``; ``meta`` is ``{}`` when absent.
    """
    is_url = checkpoint.startswith(('http://', 'https://'))
    if not is_url and not osp.isfile(checkpoint):
        raise CheckpointError(f'checkpoint file {checkpoint!r} does not exist')
    try:
        loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    except Exception as err:  # noqa: BLE001 -- any unpickling failure: name the file
        raise CheckpointError(f'{checkpoint!r} is not a readable PyTorch checkpoint '
                              f'({type(err).__name__}: {err})') from err
    if not isinstance(loaded, dict):
        raise CheckpointError(f'{checkpoint!r} holds a {type(loaded).__name__}, not a '
                              'state dict')
    state_dict = loaded.get('state_dict', loaded)
    if not isinstance(state_dict, dict) or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f"{checkpoint!r}: 'state_dict' is not a mapping of names "
                              'to tensors')
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in state_dict.items()}
    meta = loaded.get('meta', {}) if 'state_dict' in loaded else {}
    return dict(state_dict=state_dict, meta=meta if isinstance(meta, dict) else {})


def describe_differences(differences: KeyDifferences, state_dict: Dict[str, torch.Tensor],
                         own: Dict[str, torch.Tensor]) -> List[str]:
    """One phrase per kind of difference, keys listed (at most five, then a count).

    Args:
        differences (KeyDifferences): From :func:`key_differences` of the two.
        state_dict (dict[str, Tensor]): The checkpoint's weights.
        own (dict[str, Tensor]): ``model.state_dict()``.

    Returns:
        list[str]: ``'missing keys: ...'``, ``'shape mismatches (checkpoint vs model):
        ...'``, ``'unexpected keys: ...'``, each only when there are such keys.
    """
    details = []
    if differences.missing:
        details.append(f'missing keys: {_listed(differences.missing)}')
    if differences.mismatched:
        shapes = [f'{k} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}'
                  for k in differences.mismatched]
        details.append(f'shape mismatches (checkpoint vs model): {_listed(shapes)}')
    if differences.unexpected:
        details.append(f'unexpected keys: {_listed(differences.unexpected)}')
    return details


def check_fits(state_dict: Dict[str, torch.Tensor], own: Dict[str, torch.Tensor],
               checkpoint: str, config: str = 'the config',
               ignore_missing: Tuple[str, ...] = ()) -> List[str]:
    """Raises unless every weight of the model is in ``state_dict`` with its shape.

    Args:
        state_dict (dict[str, Tensor]): The checkpoint's weights.
        own (dict[str, Tensor]): ``model.state_dict()``.
        checkpoint (str): The file, for the message.
        config (str): The config, for the message.
        ignore_missing (tuple[str]): Key suffixes that may be missing.

    Returns:
        list[str]: The checkpoint's keys the model does not have (a warning at most).

    Raises:
        CheckpointError: On missing keys or shape mismatches, naming them.
    """
    differences = key_differences(state_dict, own, ignore_missing)
    if differences.missing or differences.mismatched:
        raise CheckpointError(
            f'checkpoint {checkpoint!r} does not fit the model of {config}; is it a '
            f'checkpoint of this model (same network, depth and number of classes)? '
            + '; '.join(describe_differences(differences, state_dict, own)))
    return differences.unexpected


def load_weights(model: nn.Module, state_dict: Dict[str, torch.Tensor],
                 checkpoint: str, config: str = 'the config') -> None:
    """Loads ``state_dict`` into ``model``; every weight of the model must be there.

    Keys the model does not have (e.g. an auxiliary head the config drops) are ignored
    with a warning; missing keys and shape mismatches raise :class:`CheckpointError`.
    """
    own = model.state_dict()
    unexpected = check_fits(state_dict, own, checkpoint, config)
    if unexpected:
        warnings.warn(f'{checkpoint}: ignoring keys the model does not have: '
                      f'{_listed(unexpected)}')
    model.load_state_dict({k: state_dict[k] for k in own}, strict=True)


def _init_default(cls: type, name: str, fallback: Any) -> Any:
    """The default of ``name`` in the first ``__init__`` of ``cls``'s MRO that declares it.

    Mixins such as ``DataRootCheckMixin`` take ``**kwargs`` and pass them on, so the
    default lives further down the MRO (e.g. ``ADE20KDataset``'s ``reduce_zero_label=True``).
    """
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        param = inspect.signature(init).parameters.get(name)
        if param is not None and param.default is not inspect.Parameter.empty:
            return param.default
    return fallback


def inner_dataset_cfg(dataset_cfg: dict) -> dict:
    """The dataset config inside ``RepeatDataset`` / ``ClassBalancedDataset`` wrappers.

    Args:
        dataset_cfg (dict): A dataloader's ``dataset`` config.

    Returns:
        dict: The wrapped dataset's config (the first of a ``ConcatDataset``'s ``datasets``),
        or ``dataset_cfg`` itself when it wraps nothing.
    """
    while dataset_cfg.get('type') in ('RepeatDataset', 'ClassBalancedDataset') and \
            'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    if dataset_cfg.get('type') == 'ConcatDataset' and dataset_cfg.get('datasets'):
        dataset_cfg = dataset_cfg['datasets'][0]
    return dataset_cfg


def dataset_metainfo(cfg: Config, checkpoint_meta: Optional[dict] = None) -> dict:
    """Class names, palette and ``reduce_zero_label`` of the model's dataset.

    From the checkpoint's ``meta['dataset_meta']`` (MMEngine stores it), else from the
    config's test dataset class and its ``metainfo`` override.
    """
    dataset_cfg = inner_dataset_cfg(cfg.get('test_dataloader', {}).get('dataset', {}))
    meta: Dict[str, Any] = {}
    dataset_cls = DATASETS.get(dataset_cfg.get('type', '')) if dataset_cfg else None
    if dataset_cls is not None:
        meta.update(copy.deepcopy(getattr(dataset_cls, 'METAINFO', {})))
        reduce_zero_label = dataset_cfg.get('reduce_zero_label', None)
        if reduce_zero_label is None:
            reduce_zero_label = _init_default(dataset_cls, 'reduce_zero_label', False)
        meta['reduce_zero_label'] = bool(reduce_zero_label)
    meta.update(dataset_cfg.get('metainfo', None) or {})
    saved = (checkpoint_meta or {}).get('dataset_meta') or {}
    meta.update({k: v for k, v in saved.items() if k in ('classes', 'palette')})
    if 'reduce_zero_label' in saved:
        meta['reduce_zero_label'] = bool(saved['reduce_zero_label'])
    meta.setdefault('reduce_zero_label', False)
    return meta


def load_segmentor(config: Union[str, Config],
                   checkpoint: Optional[str],
                   device: str = 'cpu',
                   cfg_options: Optional[dict] = None) -> nn.Module:
    """Builds the config's segmentor, loads ``checkpoint`` strictly, eval mode.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Local file or URL; None keeps the initial weights.
        device (str): Where the model goes.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The segmentor, with ``cfg`` (the config) and ``dataset_meta``
        (classes, palette, reduce_zero_label) attached as ``mmseg.apis.init_model`` does.
    """
    config_name = config if isinstance(config, str) else 'the config'
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config!r} does not exist')
        config = Config.fromfile(config)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    init_default_scope(config.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(config.model)
    model_cfg.pretrained = None
    model_cfg.train_cfg = None
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    meta: dict = {}
    if checkpoint is not None:
        loaded = read_state_dict(checkpoint)
        load_weights(model, loaded['state_dict'], checkpoint, config_name)
        meta = loaded['meta']
    model.cfg = config
    model.dataset_meta = dataset_metainfo(config, meta)
    classes, palette = model_classes_palette(model)
    model.dataset_meta.update(classes=classes, palette=palette.tolist())
    return model.to(device).eval()
