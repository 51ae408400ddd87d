"""The Pyramid Pooling Module of PSPNet."""
from typing import List, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.utils import resize

from mmseg_psp_ext.utils.typing import ConfigType, OptConfigType

_POOLS = {'avg': nn.AdaptiveAvgPool2d, 'max': nn.AdaptiveMaxPool2d}


class PyramidPooling(nn.ModuleList):
    """Pools a feature map to several bin sizes and upsamples each back.

    Each level is ``Sequential(pool, ConvModule 1x1)``, the layout of MMSegmentation's
    ``PPM``, so the keys read ``{i}.1.conv.weight``. Without dimension reduction a level
    is the pooling alone and keeps the input channels.

    Args:
        pool_scales (Sequence[int]): Output bin sizes, e.g. (1, 2, 3, 6).
        in_channels (int): Channels of the input feature map.
        channels (int): Output channels of each level's 1x1 conv (dimension reduction).
        pool_type (str): ``'avg'`` or ``'max'``.
        reduce_dim (bool): Whether each level has the 1x1 conv + norm + activation.
        conv_cfg (dict | None): Conv layer config.
        norm_cfg (dict | None): Norm layer config.
        act_cfg (dict): Activation config.
        align_corners (bool): ``align_corners`` of the bilinear upsampling.
    """

    def __init__(self,
                 pool_scales: Sequence[int],
                 in_channels: int,
                 channels: int,
                 pool_type: str = 'avg',
                 reduce_dim: bool = True,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: OptConfigType = None,
                 act_cfg: ConfigType = dict(type='ReLU'),
                 align_corners: bool = False) -> None:
        super().__init__()
        if pool_type not in _POOLS:
            raise ValueError(f"pool_type={pool_type!r}, expected 'avg' or 'max'")
        if any(int(s) < 1 for s in pool_scales):
            raise ValueError(f'pool_scales={tuple(pool_scales)} must be positive')
        self.pool_scales = tuple(pool_scales)
        self.align_corners = align_corners
        self.out_channels = channels if reduce_dim else in_channels
        for scale in self.pool_scales:
            layers: List[nn.Module] = [_POOLS[pool_type](scale)]
            if reduce_dim:
                layers.append(ConvModule(in_channels, channels, 1, conv_cfg=conv_cfg,
                                         norm_cfg=norm_cfg, act_cfg=act_cfg))
            self.append(nn.Sequential(*layers))

    def pool_levels(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Returns each level before upsampling (``scale x scale`` bins), in order."""
        outs = []
        for scale, level in zip(self.pool_scales, self):
            try:
                outs.append(level(x))
            except ValueError as err:
                if 'Expected more than 1 value per channel' not in str(err):
                    raise
                raise ValueError(
                    f'The {scale}x{scale} pyramid bin holds one value per channel: with '
                    f'batch size {x.shape[0]} BatchNorm cannot train on it. Use at least '
                    '2 images per GPU (train_dataloader.batch_size), SyncBN across GPUs, '
                    "or a norm that does not need a batch (norm_cfg=dict(type='GN', "
                    "num_groups=32)).") from err
        return outs

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Returns one upsampled map per level, in ``pool_scales`` order."""
        return [
            resize(pooled, size=x.shape[2:], mode='bilinear', align_corners=self.align_corners)
            for pooled in self.pool_levels(x)
        ]
