"""Tiny random-weight demo checkpoints for the picture-making tools' tests."""
import os.path as osp

import torch
from mmengine.config import Config

from mmseg.registry import MODELS

from mmseg_psp_ext.datasets.context_demo import CLASSES, PALETTE

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PSP_CONFIG = osp.join(REPO, 'configs/demo/pspnet_r18_context_demo.py')
FCN_CONFIG = osp.join(REPO, 'configs/demo/fcn_r18_context_demo.py')


def random_checkpoint(out_file: str, config: str = PSP_CONFIG, seed: int = 0) -> str:
    """Saves the config's model with random weights and the demo classes as a checkpoint.

    Its batch-norm statistics are measured on random smooth images, so that the untrained
    model's predictions vary over an image rather than being one class everywhere.
    """
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = None  # cumulative average over the calibration batches
    images = torch.nn.functional.interpolate(torch.randn(4, 3, 8, 8), size=(64, 64),
                                             mode='bilinear')
    model.train()
    with torch.no_grad():
        model._forward(images)
    meta = dict(dataset_meta=dict(classes=list(CLASSES), palette=[list(c) for c in PALETTE]))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), out_file)
    return out_file
