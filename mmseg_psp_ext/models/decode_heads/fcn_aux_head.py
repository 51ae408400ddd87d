"""The FCN auxiliary head that gives PSPNet deep supervision."""
from typing import List

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from .fast_loss import FastLossMixin


@MODELS.register_module()
class FCNAuxHead(FastLossMixin, BaseDecodeHead):
    """Auxiliary classifier on an intermediate stage (the paper's deep supervision).

    ``num_convs`` 3x3 ConvModules (conv, norm, activation), dropout and a 1x1
    classifier. It only adds a loss in training (weighted by ``loss_decode``'s
    ``loss_weight``, 0.4 in the paper) and is dropped at test time. Keys match
    MMSegmentation's ``FCNHead(num_convs=1, concat_input=False)``:
    ``convs.0.conv/bn`` and ``conv_seg``. Its cross-entropy is computed without the
    full-size logits (:class:`.FastLossMixin`), like ``PPMHead``'s.

    Args:
        num_convs (int): Number of 3x3 convs before the classifier. Default: 1.
        kernel_size (int): Kernel size of those convs. Default: 3.
        fast_loss (bool): Compute the cross-entropy loss without the full-size logits
            (exact up to float rounding). Default: True.
        **kwargs: ``BaseDecodeHead`` arguments: ``in_channels`` (1024 on stage 3 of a
            ResNet-50), ``in_index``, ``channels`` (256), ``num_classes``,
            ``dropout_ratio`` (0.1), ``norm_cfg``, ``loss_decode``...
    """

    def __init__(self, num_convs: int = 1, kernel_size: int = 3, fast_loss: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.fast_loss = fast_loss
        if num_convs < 1:
            raise ValueError(f'FCNAuxHead: num_convs={num_convs} must be at least 1')
        self.convs = nn.Sequential(*[
            ConvModule(
                self.in_channels if i == 0 else self.channels,
                self.channels,
                kernel_size,
                padding=kernel_size // 2,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg) for i in range(num_convs)
        ])

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Returns per-class logits at the feature resolution."""
        return self.cls_seg(self.convs(self._transform_inputs(inputs)))
