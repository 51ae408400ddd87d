"""ImageNet ResNet weights -> ``DilatedResNet`` keys (``backbone.`` not included).

- open-mmlab ``resnet{18,50,101}_v1c``: already in our layout, load them with
  ``init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')``.
- torchvision ``resnet{18,34,50,101,152}``: 7x7 stem, for ``DilatedResNet(deep_stem=False)``.
  ``conv1``/``bn1``/``layerX.Y.*`` keep their names; ``fc`` is dropped.
- hszhao/semseg ``resnet{50,101,152}_v2``: the deep stem ``conv1``/``bn1``/``conv2``/
  ``bn2``/``conv3``/``bn3`` becomes ``stem.{0,1,3,4,6,7}``; ``fc`` is dropped.
"""
import re
from collections import OrderedDict
from typing import Mapping

import torch

from .common import StateDict, strip_prefix

_LAYER = re.compile(r'^layer[1-4]\.\d+\.((?:conv|bn)[123]|downsample\.[01])\.[a-z_]+$')
_SEMSEG_STEM = {'conv1': 'stem.0', 'bn1': 'stem.1', 'conv2': 'stem.3', 'bn2': 'stem.4',
                'conv3': 'stem.6', 'bn3': 'stem.7'}


def _unwrap(checkpoint: Mapping) -> StateDict:
    state_dict = checkpoint.get('state_dict', checkpoint)
    return strip_prefix(strip_prefix(state_dict, 'module.'), 'backbone.')


def _fail_on(unknown, source: str) -> None:
    if unknown:
        raise ValueError(f'{len(unknown)} {source} keys belong to no ResNet module: '
                         f'{", ".join(sorted(unknown)[:12])}{" ..." if len(unknown) > 12 else ""}')


def convert_torchvision_resnet(checkpoint: Mapping) -> StateDict:
    """Renames a torchvision ResNet state dict for ``DilatedResNet(deep_stem=False)``.

    Args:
        checkpoint (Mapping): torchvision's state dict (or ``{'state_dict': ...}``).

    Returns:
        OrderedDict: Backbone keys (``conv1.weight``, ``bn1.*``, ``layer1.0.conv1.weight``...).
    """
    source = _unwrap(checkpoint)
    if 'conv3.weight' in source:
        raise ValueError('not a torchvision ResNet: it has a 3-conv stem (conv1/conv2/conv3) '
                         'instead of the 7x7 conv1 (a semseg resnet*_v2? use '
                         'convert_semseg_resnet)')
    converted: StateDict = OrderedDict()
    unknown = []
    for key, value in source.items():
        if key.startswith('fc.'):
            continue
        if re.match(r'^(conv1|bn1)\.[a-z_]+$', key) or _LAYER.match(key):
            converted[key] = value
        else:
            unknown.append(key)
    _fail_on(unknown, 'torchvision')
    if 'conv1.weight' not in converted or converted['conv1.weight'].shape[-1] != 7:
        raise ValueError('not a torchvision ResNet: conv1.weight should be a 7x7 kernel '
                         '(a deep-stem checkpoint? use convert_semseg_resnet)')
    return converted


def convert_semseg_resnet(checkpoint: Mapping) -> StateDict:
    """Renames hszhao/semseg's deep-stem ImageNet ResNet (``resnet50_v2.pth``...).

    Args:
        checkpoint (Mapping): semseg's state dict (or ``{'state_dict': ...}``).

    Returns:
        OrderedDict: ``DilatedResNet(stem_channels=128)`` keys (``stem.0.weight``...).
    """
    converted: StateDict = OrderedDict()
    unknown = []
    for key, value in _unwrap(checkpoint).items():
        if key.startswith('fc.'):
            continue
        head, _, tail = key.partition('.')
        if head in _SEMSEG_STEM and re.match(r'^[a-z_]+$', tail):
            converted[f'{_SEMSEG_STEM[head]}.{tail}'] = value
        elif _LAYER.match(key):
            converted[key] = value
        else:
            unknown.append(key)
    _fail_on(unknown, 'semseg ResNet')
    if 'stem.6.weight' not in converted:
        raise ValueError('not a deep-stem ResNet: no conv3.weight (a torchvision '
                         'checkpoint? use convert_torchvision_resnet)')
    return converted


def add_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str) -> StateDict:
    """Prepends ``prefix`` (e.g. ``backbone.``) to every key."""
    return OrderedDict((prefix + k, v) for k, v in state_dict.items())
