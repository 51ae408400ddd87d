"""Dilated ResNet with the deep 3-conv stem, as PSPNet uses it."""
from typing import Optional, Sequence

from mmseg.models.backbones.resnet import Bottleneck, ResNet
from mmseg.registry import MODELS

from .pretrained import pretrained_load_error


@MODELS.register_module()
class DilatedResNet(ResNet):
    """Dilated ResNet backbone of PSPNet (ResNet-D8 / ResNet-D16).

    A ResNet with the deep stem (three 3x3 convs instead of the 7x7) whose last stages
    trade stride for dilation, so that the output keeps 1/8 or 1/16 of the input size.
    The state-dict keys are those of MMSegmentation's ``ResNetV1c``, so its checkpoints
    load strictly.

    Output stride 8 (the paper): ``strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)``.
    Output stride 16: ``strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)``.

    Args:
        depth (int): 18, 34, 50, 101, 152 or 269 (the paper's deepest, blocks 3-30-48-8).
        stem_channels (int): Output width of the stem. The three stem convs are
            ``stem_channels // 2``, ``stem_channels // 2`` and ``stem_channels`` wide:
            64 gives MMSegmentation's 32-32-64, 128 the paper's 64-64-128.
        strides (Sequence[int]): Stride of the first block of each stage.
        dilations (Sequence[int]): Dilation of each stage.
        contract_dilation (bool): Halve the dilation of the first block of each dilated
            stage (MMSegmentation's choice); the authors' models keep it (False).
        style (str): ``'pytorch'`` puts the stride in the 3x3 conv of a bottleneck,
            ``'caffe'`` in the first 1x1 conv.
        deep_stem (bool): The 3-conv stem (True, PSPNet and ``ResNetV1c``) or the
            single 7x7 conv of torchvision's ResNet (False, keys ``conv1``/``bn1``).
        **kwargs: The other arguments of MMSegmentation's ``ResNet``: ``out_indices``,
            ``norm_cfg``, ``norm_eval``, ``frozen_stages``, ``with_cp``, ``init_cfg``...
    """

    arch_settings = {**ResNet.arch_settings, 269: (Bottleneck, (3, 30, 48, 8))}

    def __init__(self,
                 depth: int = 50,
                 stem_channels: int = 64,
                 strides: Sequence[int] = (1, 2, 1, 1),
                 dilations: Sequence[int] = (1, 1, 2, 4),
                 contract_dilation: bool = True,
                 style: str = 'pytorch',
                 deep_stem: bool = True,
                 **kwargs) -> None:
        if depth not in self.arch_settings:
            raise ValueError(f'DilatedResNet: depth={depth} is not one of '
                             f'{sorted(self.arch_settings)}')
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"DilatedResNet: style={style!r}, expected 'pytorch' or 'caffe'")
        if kwargs.pop('avg_down', False):
            raise ValueError('DilatedResNet: avg_down=True (ResNetV1d) is not supported: '
                             'PSPNet and ResNetV1c downsample with a strided 1x1 conv')
        if stem_channels % 2:
            raise ValueError(f'DilatedResNet: stem_channels={stem_channels} must be even '
                             '(the first two stem convs are half as wide)')
        num_stages = kwargs.get('num_stages', 4)
        if not len(strides) == len(dilations) == num_stages:
            raise ValueError(f'DilatedResNet: strides={tuple(strides)} and dilations='
                             f'{tuple(dilations)} need one entry per stage ({num_stages})')
        if any(s < 1 for s in strides) or any(d < 1 for d in dilations):
            raise ValueError('DilatedResNet: strides and dilations must be positive, got '
                             f'strides={tuple(strides)}, dilations={tuple(dilations)}')
        super().__init__(
            depth=depth,
            stem_channels=stem_channels,
            strides=strides,
            dilations=dilations,
            contract_dilation=contract_dilation,
            style=style,
            deep_stem=deep_stem,
            avg_down=False,
            **kwargs)

    @property
    def output_stride(self) -> int:
        """The input-to-output size ratio of the last stage (the stem divides by 4)."""
        stride = 4
        for s in self.strides:
            stride *= s
        return stride

    def init_weights(self) -> None:
        """Initialises as ``init_cfg`` says; a failed pretrained load says what to set.

        ``model.pretrained=KEY`` and ``init_cfg=dict(type='Pretrained', checkpoint=KEY)``
        both end up here. When the download fails (no connection: ``URLError``) or the
        file cannot be read, the error names the key, its URL and the settings that fix it
        (a local file, or ``None`` to train from scratch).
        """
        try:
            super().init_weights()
        except (OSError, RuntimeError) as err:
            checkpoint = _pretrained_checkpoint(self.init_cfg)
            if checkpoint is None:
                raise
            message = pretrained_load_error(type(self).__name__, checkpoint, err)
            raise (OSError if isinstance(err, OSError) else RuntimeError)(message) from err

    def train(self, mode: bool = True) -> 'DilatedResNet':
        """Sets the training mode (keeping frozen stages and ``norm_eval`` BNs in eval).

        Returns ``self`` as ``nn.Module.train`` does; MMSegmentation's ``ResNet`` returns
        None, which breaks ``model.eval()`` chaining.
        """
        super().train(mode)
        return self


def _pretrained_checkpoint(init_cfg) -> Optional[str]:
    """The ``checkpoint`` of the ``Pretrained`` entry of an ``init_cfg`` (dict or list)."""
    for entry in init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]:
        if isinstance(entry, dict) and entry.get('type') == 'Pretrained':
            return str(entry.get('checkpoint'))
    return None
