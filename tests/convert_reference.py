"""Source networks rebuilt independently of the converters, for tests/test_convert_*.py.

- ``SemsegPSPNet``: the module structure of hszhao/semseg's model/pspnet.py + resnet.py
  (attribute names as semseg has them), at reduced width.
- ``caffe_pspnet_layers`` / ``caffe_forward``: the authors' Caffe PSPNet as named layers
  with blobs, and a plain functional forward over them by layer name.
- ``build_ours``: our EncoderDecoder with the same reduced widths.
"""
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


def randomize_(module: nn.Module, seed: int) -> nn.Module:
    """Random weights and BN statistics, so that a mapping error changes the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            elif isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / fan_in ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    return module


# ----------------------------------------------------------------------------- semseg
class SemsegBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class SemsegPSPNet(nn.Module):
    """semseg's PSPNet (layer0..4, ppm.features, cls, aux) with width ``base``."""

    def __init__(self, layers=50, classes=5, base=8, stem=16, bins=(1, 2, 3, 6)):
        super().__init__()
        half = stem // 2
        relu = nn.ReLU(inplace=True)
        self.layer0 = nn.Sequential(
            nn.Conv2d(3, half, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(half), relu,
            nn.Conv2d(half, half, 3, padding=1, bias=False), nn.BatchNorm2d(half), relu,
            nn.Conv2d(half, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem), relu,
            nn.MaxPool2d(3, stride=2, padding=1))
        inplanes = stem
        for i, num in enumerate(BLOCKS[layers]):
            planes, stride = base * 2 ** i, (1 if i == 0 else 2)
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * 4))
            blocks = [SemsegBottleneck(inplanes, planes, stride, downsample)]
            inplanes = planes * 4
            blocks += [SemsegBottleneck(inplanes, planes) for _ in range(1, num)]
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        # semseg's dilation surgery on layer3 / layer4
        for layer, dilation in ((self.layer3, 2), (self.layer4, 4)):
            for n, m in layer.named_modules():
                if 'conv2' in n:
                    m.dilation, m.padding, m.stride = (dilation, ) * 2, (dilation, ) * 2, (1, 1)
                elif 'downsample.0' in n:
                    m.stride = (1, 1)
        fea = inplanes
        red = fea // len(bins)
        self.ppm = nn.Module()
        self.ppm.features = nn.ModuleList([
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(fea, red, 1, bias=False),
                          nn.BatchNorm2d(red), nn.ReLU(inplace=True)) for b in bins])
        self.cls = nn.Sequential(
            nn.Conv2d(fea * 2, red, 3, padding=1, bias=False), nn.BatchNorm2d(red),
            nn.ReLU(inplace=True), nn.Dropout2d(0.1), nn.Conv2d(red, classes, 1))
        self.aux = nn.Sequential(
            nn.Conv2d(fea // 2, base * 4, 3, padding=1, bias=False), nn.BatchNorm2d(base * 4),
            nn.ReLU(inplace=True), nn.Dropout2d(0.1), nn.Conv2d(base * 4, classes, 1))

    def forward(self, x):
        """Logits at 1/8 resolution (before semseg's final x8 interpolation)."""
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.layer0(x)))))
        size = x.shape[2:]
        x = torch.cat([x] + [F.interpolate(f(x), size, mode='bilinear', align_corners=True)
                             for f in self.ppm.features], 1)
        return self.cls(x)


# ----------------------------------------------------------------------------- Caffe
def caffe_pspnet_layers(depth=50, classes=5, base=8, stem=16, bins=(1, 2, 3, 6),
                        seed=0) -> List[Tuple[str, List[np.ndarray]]]:
    """The authors' layer names with blobs in Caffe's shapes (BN: 4 blobs of 1xCx1x1)."""
    rng = np.random.default_rng(seed)
    layers = []

    def conv(name, cin, cout, k, bias=False):
        blobs = [(rng.standard_normal((cout, cin, k, k)) / np.sqrt(cin * k * k)).astype(np.float32)]
        if bias:
            blobs.append((rng.standard_normal(cout) * 0.1).astype(np.float32))
        layers.append((name, blobs))

    def bn(name, c):
        shape = (1, c, 1, 1)
        layers.append((name, [(rng.random(shape) + 0.5).astype(np.float32),
                              (rng.standard_normal(shape) * 0.1).astype(np.float32),
                              (rng.standard_normal(shape) * 0.1).astype(np.float32),
                              (rng.random(shape) + 0.5).astype(np.float32)]))

    half = stem // 2
    for name, cin, cout in (('conv1_1_3x3_s2', 3, half), ('conv1_2_3x3', half, half),
                            ('conv1_3_3x3', half, stem)):
        conv(name, cin, cout, 3)
        bn(name + '/bn', cout)
    cin = stem
    for s, num in zip(range(2, 6), BLOCKS[depth]):
        planes = base * 2 ** (s - 2)
        for b in range(1, num + 1):
            p = f'conv{s}_{b}'
            conv(p + '_1x1_reduce', cin, planes, 1)
            bn(p + '_1x1_reduce/bn', planes)
            conv(p + '_3x3', planes, planes, 3)
            bn(p + '_3x3/bn', planes)
            conv(p + '_1x1_increase', planes, planes * 4, 1)
            bn(p + '_1x1_increase/bn', planes * 4)
            if b == 1:
                conv(p + '_1x1_proj', cin, planes * 4, 1)
                bn(p + '_1x1_proj/bn', planes * 4)
            cin = planes * 4
    red = cin // len(bins)
    for k in bins:
        conv(f'conv5_3_pool{k}_conv', cin, red, 1)
        bn(f'conv5_3_pool{k}_conv/bn', red)
    conv('conv5_4', cin + red * len(bins), red, 3)
    bn('conv5_4/bn', red)
    conv('conv6', red, classes, 1, bias=True)
    return layers


def caffe_forward(blobs: Dict[str, List[np.ndarray]], x: torch.Tensor, depth=50,
                  style='caffe', bins=(1, 2, 3, 6), eps=1e-5) -> torch.Tensor:
    """The Caffe net run by layer name: conv6 output (before the x8 Interp)."""
    t = {k: [torch.from_numpy(b) for b in v] for k, v in blobs.items()}

    def conv(name, x, stride=1, dilation=1):
        w = t[name][0]
        pad = dilation * (w.shape[-1] // 2)
        return F.conv2d(x, w, t[name][1] if len(t[name]) > 1 else None, stride, pad, dilation)

    def bn(name, x, relu=True):
        scale, shift, mean, var = (b.reshape(1, -1, 1, 1) for b in t[name])
        y = (x - mean) / torch.sqrt(var + eps) * scale + shift
        return F.relu(y) if relu else y

    x = bn('conv1_1_3x3_s2/bn', conv('conv1_1_3x3_s2', x, stride=2))
    x = bn('conv1_2_3x3/bn', conv('conv1_2_3x3', x))
    x = bn('conv1_3_3x3/bn', conv('conv1_3_3x3', x))
    x = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)  # Caffe pools with ceil
    for s, num in zip(range(2, 6), BLOCKS[depth]):
        dilation = {4: 2, 5: 4}.get(s, 1)
        for b in range(1, num + 1):
            p = f'conv{s}_{b}'
            stride = 2 if (s == 3 and b == 1) else 1
            r_stride, c_stride = (stride, 1) if style == 'caffe' else (1, stride)
            y = bn(p + '_1x1_reduce/bn', conv(p + '_1x1_reduce', x, r_stride))
            y = bn(p + '_3x3/bn', conv(p + '_3x3', y, c_stride, dilation))
            y = bn(p + '_1x1_increase/bn', conv(p + '_1x1_increase', y), relu=False)
            if b == 1:
                x = bn(p + '_1x1_proj/bn', conv(p + '_1x1_proj', x, stride), relu=False)
            x = F.relu(x + y)
    size = x.shape[2:]
    pooled = {}
    for k in bins:  # fixed-kernel average pooling, as in the deploy prototxt
        kernel = size[0] // k
        assert kernel * k == size[0], 'the reference needs a feature size divisible by the bins'
        p = F.avg_pool2d(x, kernel, kernel)
        p = bn(f'conv5_3_pool{k}_conv/bn', conv(f'conv5_3_pool{k}_conv', p))
        pooled[k] = F.interpolate(p, size, mode='bilinear', align_corners=True)
    x = torch.cat([x] + [pooled[k] for k in sorted(bins, reverse=True)], 1)  # Caffe's order
    x = bn('conv5_4/bn', conv('conv5_4', x))
    return conv('conv6', x)


def write_caffemodel(path, layers, v1=False, style=None, type_names=True, schema='c479f4f',
                    eps=1e-5, dilation=False, interp_size=None) -> None:
    """Serialises named blobs with the fork's layer types (new ``layer`` or V1 ``layers``).

    Args:
        schema: ``'c479f4f'`` (the fork's HEAD numbering) or ``'88d0b3e'`` (its first
            commit); V1 files are written with 88d0b3e, whose V1 types include the fork's.
        eps: Stored in every BN layer's ``bn_param`` (None: no ``bn_param``).
        dilation: Store the dilation of the stage-4/5 3x3 convolutions (2 and 4).
        interp_size: Add the deploy net's ``Interp`` layers for this 1/8 feature size.
    """
    from mmseg_psp_ext.converters import caffe_88d0b3e_pb2, caffe_pb2
    head = schema == 'c479f4f' and not v1
    pb2 = caffe_pb2 if head else caffe_88d0b3e_pb2
    net = pb2.NetParameter(name='pspnet')
    net.input.append('data')
    for name, blobs in layers:
        is_bn = name.endswith('/bn')
        if v1:
            layer = net.layers.add()
            layer.name = name
            layer.type = pb2.V1LayerParameter.HOLE_CONVOLUTION if not is_bn else 0
        else:
            layer = net.layer.add()
            layer.name = name
            dilated = name.startswith(('conv4_', 'conv5_')) and '3x3' in name
            layer.type = 'BNData' if is_bn else (
                'HoleConvolutionData' if dilated else 'ConvolutionData')
            if is_bn and eps is not None:
                layer.bn_param.eps = eps
            if dilation and dilated:
                d = 2 if name.startswith('conv4_') else 4
                if head:
                    layer.convolution_param.dilation.append(d)
                else:
                    layer.convolution_param.hole = d
        if not is_bn and style is not None:
            layer.convolution_param.num_output = blobs[0].shape[0]
            wants = {'caffe': 'conv3_1_1x1_reduce', 'pytorch': 'conv3_1_3x3'}[style]
            if name in (wants, 'conv3_1_1x1_proj'):
                if head:
                    layer.convolution_param.stride.append(2)
                else:
                    layer.convolution_param.stride = 2
        for array in blobs:
            blob = layer.blobs.add()
            blob.shape.dim.extend(array.shape)
            blob.data.extend(array.ravel().tolist())
    if interp_size is not None and not v1:
        for k in (1, 2, 3, 6):
            layer = net.layer.add(name=f'conv5_3_pool{k}_interp', type='Interp')
            layer.interp_param.height = layer.interp_param.width = interp_size
        net.layer.add(name='conv6_interp', type='Interp').interp_param.zoom_factor = 8
    with open(path, 'wb') as f:
        f.write(net.SerializeToString())


# ----------------------------------------------------------------------------- ours
def build_ours(depth=50, classes=5, base=8, stem=16, style='pytorch', aux=True,
               deep_stem=True, eps=1e-5):
    """Our EncoderDecoder at reduced width, in eval mode (BN eps ``eps``)."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_psp_ext  # noqa: F401
    init_default_scope('mmseg')
    fea = base * 8 * 4
    norm = dict(type='BN', requires_grad=True, eps=eps)
    cfg = dict(
        type='EncoderDecoder',
        backbone=dict(type='DilatedResNet', depth=depth, base_channels=base,
                      stem_channels=stem, deep_stem=deep_stem, style=style,
                      contract_dilation=False, dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
                      norm_cfg=norm),
        decode_head=dict(type='PPMHead', in_channels=fea, in_index=3, channels=fea // 4,
                         pool_scales=(1, 2, 3, 6), dropout_ratio=0.1, num_classes=classes,
                         norm_cfg=norm, align_corners=True),
        test_cfg=dict(mode='whole'))
    if aux:
        cfg['auxiliary_head'] = dict(type='FCNAuxHead', in_channels=fea // 2, in_index=2,
                                     channels=base * 4, num_convs=1, dropout_ratio=0.1,
                                     num_classes=classes, norm_cfg=norm, align_corners=True)
    return MODELS.build(cfg).eval()
