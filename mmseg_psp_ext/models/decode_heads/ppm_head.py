"""PSPNet's decode head: pyramid pooling, concat, 3x3 bottleneck, classifier."""
import warnings
from typing import List, Sequence

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from .fast_bottleneck import fast_bottleneck_unsupported, pyramid_bottleneck_conv
from .fast_loss import FastLossMixin
from .pyramid_pooling import PyramidPooling


@MODELS.register_module()
class PPMHead(FastLossMixin, BaseDecodeHead):
    """Pyramid Pooling Module head of `PSPNet <https://arxiv.org/abs/1612.01105>`_.

    The input feature is pooled to each bin size, reduced by a 1x1 conv (DR), upsampled,
    concatenated with the input as ``[x, bin_1, ..., bin_n]``, fused by a 3x3 conv and
    classified. Keys match MMSegmentation's ``PSPHead`` (``psp_modules.{i}.1.conv/bn``,
    ``bottleneck.conv/bn``, ``conv_seg``).

    Each row of the paper's Table 1 is one setting away: ``pool_scales=(1,)`` is B1,
    ``(1, 2, 3, 6)`` B1236, ``pool_type`` picks MAX or AVE, ``reduce_dim`` turns DR on
    or off. ``pool_scales=()`` leaves the dilated-FCN baseline: 3x3 conv, dropout and
    classifier on the backbone feature.

    By default the 3x3 bottleneck runs as the exact fast computation of
    :mod:`.fast_bottleneck`: the conv is linear and bilinear upsampling is a small matrix
    per axis, so the pyramid half of the conv is done on the pooled bins with a few small
    matmuls, and neither the concat nor the upsampled maps are built (forward and
    backward, any ``align_corners``, sizes, pooling, DR and batch size). It gives the
    same result up to float rounding (relative difference about 1e-6 in float32) with
    the same parameters and keys. ``fast_bottleneck=False`` runs the plain concat + conv,
    op for op MMSegmentation's computation. The plain path is also taken, with a
    warning, where the identity does not hold: a ``conv_cfg`` conv that rewrites its
    weight (e.g. weight standardisation), non-zero padding, spectral norm or a
    ConvModule order that does not start with the conv.

    The training loss is computed the same way (:class:`.FastLossMixin`): the
    cross-entropy of the logits upsampled to the label size, band by band, without
    building the full-size logits (``fast_loss=False`` for MMSegmentation's
    computation; other losses and pixel samplers always take it).

    Args:
        pool_scales (Sequence[int]): Bin sizes of the pyramid. Default: (1, 2, 3, 6).
        pool_type (str): ``'avg'`` (the paper's choice) or ``'max'``.
        reduce_dim (bool): Reduce each bin to ``channels`` with a 1x1 conv (the paper's
            "DR"). Without it each bin keeps ``in_channels``.
        fast_bottleneck (bool): Compute the bottleneck conv's pyramid part on the pooled
            bins, never building the concat (exact up to float rounding). False runs
            the plain concat + conv. Default: True.
        fast_loss (bool): Compute the cross-entropy loss without the full-size logits
            (exact up to float rounding). Default: True.
        **kwargs: ``BaseDecodeHead`` arguments: ``in_channels``, ``channels``,
            ``num_classes``, ``dropout_ratio``, ``norm_cfg``, ``align_corners``,
            ``loss_decode``...
    """

    def __init__(self,
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 pool_type: str = 'avg',
                 reduce_dim: bool = True,
                 fast_bottleneck: bool = True,
                 fast_loss: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(pool_scales, (list, tuple)):
            raise TypeError(f'pool_scales must be a list or tuple, got {pool_scales!r}')
        self.pool_scales = tuple(pool_scales)
        self.pool_type = pool_type
        self.reduce_dim = reduce_dim
        self.fast_bottleneck = fast_bottleneck
        self.fast_loss = fast_loss
        self._warned_plain = False
        self.psp_modules = PyramidPooling(
            self.pool_scales,
            self.in_channels,
            self.channels,
            pool_type=pool_type,
            reduce_dim=reduce_dim,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            align_corners=self.align_corners)
        self.bottleneck = ConvModule(
            self.in_channels + len(self.pool_scales) * self.psp_modules.out_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def _forward_feature(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Returns the bottleneck feature, before dropout and the classifier."""
        x = self._transform_inputs(inputs)
        if self.fast_bottleneck:
            # Checked on every call: mmcv's fuse_conv_bn, for one, swaps the conv after
            # construction (the fast path keeps working with the fused bias).
            reason = fast_bottleneck_unsupported(self.bottleneck)
            if reason is None:
                return self._fast_bottleneck(x)
            if not self._warned_plain:
                warnings.warn(f'PPMHead: plain bottleneck computation, because {reason}')
                self._warned_plain = True
        return self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))

    def _fast_bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        """The bottleneck ConvModule with its conv computed by ``pyramid_bottleneck_conv``."""
        module = self.bottleneck
        out = pyramid_bottleneck_conv(x, self.psp_modules.pool_levels(x), module.conv.weight,
                                      module.conv.bias, self.align_corners)
        for layer in module.order[1:]:
            if layer == 'norm' and module.with_norm:
                out = module.norm(out)
            elif layer == 'act' and module.with_activation:
                out = module.activate(out)
        return out

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Returns per-class logits at the feature resolution."""
        return self.cls_seg(self._forward_feature(inputs))
