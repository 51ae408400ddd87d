"""Converters from the authors' and ImageNet checkpoints to this plugin's layout.

See docs/checkpoints.md for which file each reads and the command to run.
"""
from .caffe import (KNOWN_MODELS, SCHEMAS, CaffeLayer, CaffeNet, convert_caffe_layers,
                    detect_dilations, detect_style, interp_crop_size, read_caffemodel)
from .common import (CheckpointMismatchError, check_against, check_against_config,
                     load_torch_checkpoint, save_atomic, save_checkpoint)
from .imagenet import add_prefix, convert_semseg_resnet, convert_torchvision_resnet
from .semseg import (convert_semseg_state_dict, describe_semseg_state_dict,
                     extract_semseg_state_dict)

__all__ = [
    'KNOWN_MODELS', 'SCHEMAS', 'CaffeLayer', 'CaffeNet', 'CheckpointMismatchError',
    'add_prefix', 'detect_dilations', 'interp_crop_size',
    'check_against', 'check_against_config', 'convert_caffe_layers',
    'convert_semseg_resnet', 'convert_semseg_state_dict', 'convert_torchvision_resnet',
    'describe_semseg_state_dict', 'detect_style', 'extract_semseg_state_dict',
    'load_torch_checkpoint', 'read_caffemodel', 'save_atomic', 'save_checkpoint'
]
