"""hszhao/semseg PSPNet checkpoints -> MMSegmentation's PSPNet layout.

semseg saves ``{'epoch', 'state_dict', 'optimizer'}`` from DDP, so every key starts with
``module.``. Its modules map one to one onto ``DilatedResNet`` + ``PPMHead`` +
``FCNAuxHead`` (no channel permutation: semseg concatenates ``[x, bin1, bin2, bin3,
bin6]`` like MMSegmentation):

===============================  ===========================================
semseg                           MMSegmentation
===============================  ===========================================
``layer0.{0,1,3,4,6,7}``         ``backbone.stem.{0,1,3,4,6,7}``
``layer{k}.*``                   ``backbone.layer{k}.*``
``ppm.features.{i}.1``           ``decode_head.psp_modules.{i}.1.conv``
``ppm.features.{i}.2``           ``decode_head.psp_modules.{i}.1.bn``
``cls.0`` / ``cls.1``            ``decode_head.bottleneck.conv`` / ``.bn``
``cls.4``                        ``decode_head.conv_seg``
``aux.0`` / ``aux.1``            ``auxiliary_head.convs.0.conv`` / ``.bn``
``aux.4``                        ``auxiliary_head.conv_seg``
===============================  ===========================================
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch

from .common import StateDict, strip_prefix

# (pattern on the semseg key, replacement); the first match wins.
_RULES: List[Tuple[re.Pattern, str]] = [
    (re.compile(r'^layer0\.([013467])\.(.+)$'), r'backbone.stem.\1.\2'),
    (re.compile(r'^layer([1-4])\.(\d+)\.((?:conv|bn)[123]|downsample\.[01])\.(.+)$'),
     r'backbone.layer\1.\2.\3.\4'),
    (re.compile(r'^ppm\.features\.(\d+)\.1\.(.+)$'), r'decode_head.psp_modules.\1.1.conv.\2'),
    (re.compile(r'^ppm\.features\.(\d+)\.2\.(.+)$'), r'decode_head.psp_modules.\1.1.bn.\2'),
    (re.compile(r'^cls\.0\.(.+)$'), r'decode_head.bottleneck.conv.\1'),
    (re.compile(r'^cls\.1\.(.+)$'), r'decode_head.bottleneck.bn.\1'),
    (re.compile(r'^cls\.4\.(.+)$'), r'decode_head.conv_seg.\1'),
    (re.compile(r'^aux\.0\.(.+)$'), r'auxiliary_head.convs.0.conv.\1'),
    (re.compile(r'^aux\.1\.(.+)$'), r'auxiliary_head.convs.0.bn.\1'),
    (re.compile(r'^aux\.4\.(.+)$'), r'auxiliary_head.conv_seg.\1'),
]

# Number of bottleneck blocks in layer3 -> ResNet depth.
_DEPTH_BY_LAYER3_BLOCKS = {6: 50, 23: 101, 36: 152}


def extract_semseg_state_dict(checkpoint: Mapping) -> StateDict:
    """Returns the weights of a semseg checkpoint without DDP's ``module.`` prefix.

    Args:
        checkpoint (Mapping): ``torch.load`` of a semseg file: either
            ``{'epoch', 'state_dict', 'optimizer'}`` or a bare state dict.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError('not a semseg checkpoint: expected a state dict of tensors, '
                         "directly or under 'state_dict'")
    return strip_prefix(state_dict, 'module.')


def convert_semseg_state_dict(state_dict: Mapping[str, torch.Tensor]) -> StateDict:
    """Renames semseg PSPNet weights to MMSegmentation's PSPNet keys.

    Args:
        state_dict (Mapping[str, Tensor]): semseg weights (``module.`` prefix allowed).

    Returns:
        OrderedDict: The same tensors under MMSegmentation's keys.

    Raises:
        ValueError: Naming the keys no rule maps (another architecture, e.g. PSANet's
            ``psa.*``, or a torchvision-style 7x7 stem).
    """
    converted: StateDict = OrderedDict()
    unknown = []
    for key, value in strip_prefix(state_dict, 'module.').items():
        for pattern, replacement in _RULES:
            if pattern.match(key):
                converted[pattern.sub(replacement, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f'{len(unknown)} semseg keys belong to no PSPNet module: '
                         f'{", ".join(sorted(unknown)[:12])}'
                         f'{" ..." if len(unknown) > 12 else ""} '
                         '(is this a PSPNet checkpoint of hszhao/semseg?)')
    if 'backbone.stem.0.weight' not in converted:
        raise ValueError('semseg checkpoint has no layer0.0.weight: not a PSPNet with the '
                         'deep 3-conv stem')
    return converted


def describe_semseg_state_dict(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, object]:
    """Reads depth, class count and aux head presence off semseg weights.

    Args:
        state_dict (Mapping[str, Tensor]): semseg weights (``module.`` prefix allowed).

    Returns:
        dict: ``depth``, ``num_classes``, ``has_aux``, ``pool_scales_count``.
    """
    sd = strip_prefix(state_dict, 'module.')
    blocks = {int(m.group(1)) for k in sd for m in [re.match(r'^layer3\.(\d+)\.', k)] if m}
    num_blocks = max(blocks) + 1 if blocks else 0
    if num_blocks not in _DEPTH_BY_LAYER3_BLOCKS:
        raise ValueError(f'semseg checkpoint has {num_blocks} blocks in layer3; PSPNet '
                         f'uses {sorted(_DEPTH_BY_LAYER3_BLOCKS)} (depth 50/101/152)')
    if 'cls.4.weight' not in sd:
        raise ValueError('semseg checkpoint has no classifier cls.4.weight')
    return dict(
        depth=_DEPTH_BY_LAYER3_BLOCKS[num_blocks],
        num_classes=int(sd['cls.4.weight'].shape[0]),
        has_aux='aux.4.weight' in sd,
        pool_scales_count=len({k.split('.')[2] for k in sd if k.startswith('ppm.features.')}))
