"""The exact fast bottleneck of PPMHead against the plain concat + conv and MMSegmentation.

Relative difference = max |ours - reference| / max |reference|, at most 1e-5 in float32,
for outputs and for every parameter's gradient.

Gradients are compared in float32 with a smooth activation (GELU) in the head: ReLU's
gradient jumps at 0, so a pre-activation within float rounding of 0 (about one in 1e6
values) would flip its gradient in one computation and not in the other, whichever is
the more accurate. The identity does not involve the activation; the default ReLU head's
gradients are compared in float64, where no value comes that close to 0.
"""
import itertools
import warnings

import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import fuse_conv_bn
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.decode_heads import PSPHead
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch.utils._pytree import tree_flatten
from torch.utils._python_dispatch import TorchDispatchMode

from mmseg_psp_ext.models import PPMHead
from mmseg_psp_ext.models.decode_heads.fast_bottleneck import (bilinear_matrix,
                                                               pyramid_bottleneck_conv)

IN, MID, CLASSES = 16, 8, 5
TOL = 1e-5
SMOOTH = dict(type='GELU')
# Feature sizes: square, odd and non-square, smaller than the 6x6 bin, one pixel, and the
# 1/8 feature map of a 385x517 input (ResNetV1c-D8: 385 -> 193 -> 97 -> 49, 517 -> 65).
SIZES = [(12, 12), (7, 5), (4, 3), (1, 1), (49, 65)]


def relative(ours: torch.Tensor, reference: torch.Tensor) -> float:
    scale = reference.abs().max()
    assert scale > 0, 'vacuous comparison of zeros'
    return ((ours - reference).abs().max() / scale).item()


def randomise_norms(model: torch.nn.Module, seed: int = 0) -> None:
    """BN weights, biases and running statistics away from their identity defaults."""
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                module.weight.copy_(torch.rand(module.weight.shape, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
                module.running_mean.copy_(torch.randn(module.running_mean.shape,
                                                      generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape,
                                                    generator=gen) + 0.5)


def ppm_head(**kwargs) -> PPMHead:
    cfg = dict(in_channels=IN, channels=MID, num_classes=CLASSES, dropout_ratio=0.1,
               norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = PPMHead(**cfg)
    randomise_norms(model)
    return model


def forward_backward(model: torch.nn.Module, x: torch.Tensor, fast: bool):
    """Logits, input gradient and parameter gradients of one forward/backward pass."""
    model.fast_bottleneck = fast
    model.zero_grad()
    x = x.clone().requires_grad_()
    out = model([x])
    # A fixed random projection, so that every logit gets its own gradient.
    probe = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
    (out * probe).sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return out.detach(), x.grad, grads


@pytest.mark.parametrize('out_size,in_size', [(12, 6), (49, 6), (65, 3), (5, 6), (1, 1),
                                              (7, 1), (2, 2)])
@pytest.mark.parametrize('align_corners', [False, True])
def test_bilinear_matrix_is_what_interpolate_computes(out_size, in_size, align_corners):
    signal = torch.randn(3, 2, in_size, 5)
    expected = F.interpolate(signal, size=(out_size, 5), mode='bilinear',
                             align_corners=align_corners)
    matrix = bilinear_matrix(out_size, in_size, align_corners, signal.device, signal.dtype)
    assert matrix.shape == (out_size, in_size)
    assert relative(torch.einsum('ha,ncaw->nchw', matrix, signal), expected) <= 1e-6


@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('pool_type', ['avg', 'max'])
@pytest.mark.parametrize('reduce_dim', [True, False])
@pytest.mark.parametrize('align_corners', [False, True])
def test_fast_equals_plain_forward_and_gradients(align_corners, reduce_dim, pool_type, batch):
    model = ppm_head(align_corners=align_corners, reduce_dim=reduce_dim, pool_type=pool_type,
                     act_cfg=SMOOTH)
    # Batch 1 runs in eval mode (BN cannot train on the 1x1 bin's single value), batch 3
    # in training mode. Not 2: BN over two values has an exactly zero input gradient
    # (x_hat = +-1), so the 1x1 bin's conv gradient would be pure rounding noise.
    model.train(batch > 1)
    for size in SIZES:
        x = torch.randn(batch, IN, *size, generator=torch.Generator().manual_seed(1))
        torch.manual_seed(5)
        out, x_grad, grads = forward_backward(model, x, fast=True)
        torch.manual_seed(5)  # the same dropout mask
        out_ref, x_grad_ref, grads_ref = forward_backward(model, x, fast=False)
        assert out.shape == (batch, CLASSES, *size)
        assert relative(out, out_ref) <= TOL, size
        assert relative(x_grad, x_grad_ref) <= TOL, size
        assert grads.keys() == grads_ref.keys() == dict(model.named_parameters()).keys()
        for name in grads:
            assert relative(grads[name], grads_ref[name]) <= TOL, (size, name)


@pytest.mark.parametrize('pool_scales', [(), (1, ), (6, ), (2, 6), (1, 2, 3, 6), (3, 1, 8)])
def test_any_pyramid_and_a_conv_bias(pool_scales):
    # norm_cfg=None gives the bottleneck conv a bias (added once, with the x part).
    for norm_cfg in (dict(type='BN'), None):
        model = ppm_head(pool_scales=pool_scales, norm_cfg=norm_cfg, act_cfg=SMOOTH).eval()
        assert (model.bottleneck.conv.bias is not None) == (norm_cfg is None)
        x = torch.randn(2, IN, 9, 14)
        out, x_grad, grads = forward_backward(model, x, fast=True)
        out_ref, x_grad_ref, grads_ref = forward_backward(model, x, fast=False)
        assert relative(out, out_ref) <= TOL
        assert relative(x_grad, x_grad_ref) <= TOL
        for name in grads:
            assert relative(grads[name], grads_ref[name]) <= TOL, name


def test_functional_form_checks_the_channel_count():
    x = torch.randn(1, IN, 5, 5)
    with pytest.raises(ValueError, match=r'takes 40 input channels.*\[16, 8, 8\]'):
        pyramid_bottleneck_conv(x, [torch.randn(1, 8, 1, 1)] * 2, torch.randn(4, 40, 3, 3),
                                None, False)


def mmseg_psphead(ours: PPMHead, pool_type: str) -> PSPHead:
    """MMSegmentation's PSPHead with our head's weights (max pooling swapped in)."""
    theirs = PSPHead(in_channels=IN, channels=MID, num_classes=CLASSES, dropout_ratio=0.1,
                     norm_cfg=dict(type='BN'), pool_scales=ours.pool_scales,
                     align_corners=ours.align_corners, act_cfg=ours.act_cfg)
    if pool_type == 'max':
        for level, scale in zip(theirs.psp_modules, ours.pool_scales):
            level[0] = torch.nn.AdaptiveMaxPool2d(scale)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    assert list(theirs.state_dict()) == list(ours.state_dict())
    return theirs


@pytest.mark.parametrize('pool_type', ['avg', 'max'])
@pytest.mark.parametrize('align_corners', [False, True])
def test_fast_head_equals_mmseg_psphead(align_corners, pool_type):
    ours = ppm_head(align_corners=align_corners, pool_type=pool_type, act_cfg=SMOOTH)
    theirs = mmseg_psphead(ours, pool_type)
    assert ours.fast_bottleneck
    for size, mode in itertools.product(SIZES, ('eval', 'train')):
        ours.train(mode == 'train'), theirs.train(mode == 'train')
        x = torch.randn(3, IN, *size, generator=torch.Generator().manual_seed(2))
        results = []
        for model in (ours, theirs):
            model.zero_grad()
            torch.manual_seed(5)
            results.append((*forward_backward_any(model, x),
                            {n: p.grad.clone() for n, p in model.named_parameters()}))
        (out, x_grad, grads), (out_ref, x_grad_ref, grads_ref) = results
        assert relative(out, out_ref) <= TOL, (size, mode)
        assert relative(x_grad, x_grad_ref) <= TOL, (size, mode)
        for name in grads_ref:
            assert relative(grads[name], grads_ref[name]) <= TOL, (size, mode, name)


@pytest.mark.parametrize('pool_type,reduce_dim', [('avg', True), ('max', False)])
@pytest.mark.parametrize('align_corners', [False, True])
def test_relu_head_gradients_in_float64(align_corners, pool_type, reduce_dim):
    model = ppm_head(align_corners=align_corners, pool_type=pool_type,
                     reduce_dim=reduce_dim).double().train()
    for size in ((49, 65), (7, 5)):
        x = torch.randn(3, IN, *size, dtype=torch.float64)
        torch.manual_seed(5)
        out, x_grad, grads = forward_backward(model, x, fast=True)
        torch.manual_seed(5)
        out_ref, x_grad_ref, grads_ref = forward_backward(model, x, fast=False)
        assert relative(out, out_ref) <= 1e-12
        assert relative(x_grad, x_grad_ref) <= 1e-12
        for name in grads_ref:
            assert relative(grads[name], grads_ref[name]) <= 1e-12, (size, name)
    if reduce_dim:  # and against MMSegmentation's PSPHead (avg pooling, DR only)
        theirs = mmseg_psphead(model, pool_type).double().train()
        torch.manual_seed(5)
        out_theirs, x_grad_theirs = forward_backward_any(theirs, x)
        assert relative(out, out_theirs) <= 1e-12
        assert relative(x_grad, x_grad_theirs) <= 1e-12
        for name, param in theirs.named_parameters():
            assert relative(grads[name], param.grad) <= 1e-12, name


def forward_backward_any(model: torch.nn.Module, x: torch.Tensor):
    x = x.clone().requires_grad_()
    out = model([x])
    probe = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
    (out * probe).sum().backward()
    return out.detach(), x.grad


class _OpOutputs(TorchDispatchMode):
    """Records the name and output shapes of every aten op that runs."""

    def __init__(self):
        super().__init__()
        self.outputs = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        shapes = [tuple(t.shape) for t in tree_flatten(result)[0]
                  if isinstance(t, torch.Tensor)]
        self.outputs.extend((str(func), shape) for shape in shapes)
        return result


@pytest.mark.parametrize('fast', [True, False])
def test_fast_path_never_builds_the_concat_or_an_upsampled_map(fast):
    # Without DR each upsampled level is as large as x and the concat five times larger.
    model = ppm_head(reduce_dim=False).train()
    model.fast_bottleneck = fast
    conv_calls = []
    model.bottleneck.conv.register_forward_hook(lambda m, i, o: conv_calls.append(i[0].shape))
    x = torch.randn(2, IN, 20, 20, requires_grad=True)
    with _OpOutputs() as forward_ops:
        out = model([x])
    with _OpOutputs() as backward_ops:
        out.square().sum().backward()
    # Any op output of H x W pixels with IN channels or more: an upsampled level, the concat.
    full_maps = [(op, shape) for op, shape in forward_ops.outputs
                 if len(shape) == 4 and shape[2:] == (20, 20) and shape[1] >= IN]
    largest_backward = max(torch.Size(shape).numel() for _, shape in backward_ops.outputs)
    if fast:
        assert not conv_calls
        assert not full_maps, full_maps
        # The backward pass holds nothing larger than x's gradient.
        assert largest_backward <= x.numel()
    else:  # the detectors see the plain computation
        assert conv_calls == [(2, 5 * IN, 20, 20)]
        assert len(full_maps) >= 5
        assert largest_backward == 5 * x.numel()


def test_unsupported_conv_falls_back_to_plain_with_a_warning():
    model = ppm_head(conv_cfg=dict(type='ConvWS')).eval()
    x = [torch.randn(2, IN, 9, 9)]
    with torch.no_grad(), pytest.warns(UserWarning, match='plain bottleneck.*ConvWS'):
        out = model(x)
    model.fast_bottleneck = False
    with torch.no_grad():
        assert torch.equal(out, model(x))


def test_fast_path_survives_fuse_conv_bn():
    # mmcv's fuse_conv_bn (tools' --fuse-conv-bn) folds BN into a conv bias.
    model = ppm_head().eval()
    x = [torch.randn(1, IN, 11, 13)]
    with torch.no_grad():
        reference = model(x)
        fused = fuse_conv_bn(model)
        assert fused.bottleneck.conv.bias is not None
        with warnings.catch_warnings():
            warnings.simplefilter('error')  # no fallback warning: the fast path runs
            assert relative(fused(x), reference) <= TOL


# A tiny PSPNet segmentor, ours (DilatedResNet + PPMHead + FCNAuxHead) against
# MMSegmentation's (ResNetV1c + PSPHead + FCNHead), in tensor, predict and loss modes.
def segmentor(ours: bool, align_corners: bool, size: tuple) -> torch.nn.Module:
    norm_cfg = dict(type='BN', requires_grad=True)
    common = dict(num_classes=CLASSES, norm_cfg=norm_cfg, align_corners=align_corners,
                  dropout_ratio=0.1, act_cfg=SMOOTH)
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                               seg_pad_val=255, size=size),
        backbone=dict(type='DilatedResNet' if ours else 'ResNetV1c', depth=18,
                      stem_channels=16, base_channels=8, out_indices=(0, 1, 2, 3),
                      dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg,
                      contract_dilation=True),
        decode_head=dict(type='PPMHead' if ours else 'PSPHead', in_channels=64, in_index=3,
                         channels=16, pool_scales=(1, 2, 3, 6),
                         loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0), **common),
        auxiliary_head=dict(type='FCNAuxHead', in_channels=32, in_index=2, channels=8,
                            num_convs=1,
                            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4),
                            **common) if ours else
        dict(type='FCNHead', in_channels=32, in_index=2, channels=8, num_convs=1,
             concat_input=False, loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4),
             **common),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    return MODELS.build(ConfigDict(cfg))


def seg_batch(height: int, width: int, n: int = 3):
    gen = torch.Generator().manual_seed(1)
    samples = []
    for _ in range(n):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, CLASSES, (1, height, width), generator=gen))
        sample.set_metainfo(dict(img_shape=(height, width), ori_shape=(height, width),
                                 pad_shape=(height, width), scale_factor=(1.0, 1.0),
                                 flip=False))
        samples.append(sample)
    inputs = [torch.randint(0, 256, (3, height, width), generator=gen).float()
              for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('height,width', [pytest.param(385, 517, marks=pytest.mark.slow),
                                          (64, 64)])
def test_tiny_segmentor_matches_mmseg_in_every_mode(height, width, align_corners):
    ours = segmentor(True, align_corners, (height, width))
    theirs = segmentor(False, align_corners, (height, width))
    torch.manual_seed(0)
    for param in ours.parameters():
        with torch.no_grad():
            param.copy_(torch.randn(param.shape) * (2.0 / max(param[0].numel(), 1))**0.5)
    randomise_norms(ours)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    assert ours.decode_head.fast_bottleneck

    ours.eval(), theirs.eval()
    with torch.no_grad():
        inputs = ours.data_preprocessor(seg_batch(height, width), False)['inputs']
        logits = ours(inputs, mode='tensor')
        assert logits.shape == (3, CLASSES, (height + 7) // 8, (width + 7) // 8)
        assert relative(logits, theirs(inputs, mode='tensor')) <= TOL
        predicted = ours.test_step(seg_batch(height, width))
        expected = theirs.test_step(seg_batch(height, width))
    for a, b in zip(predicted, expected):
        assert a.seg_logits.data.shape == (CLASSES, height, width)
        assert relative(a.seg_logits.data, b.seg_logits.data) <= TOL
        # argmax may only differ where two classes are within float rounding of each other
        agreement = (a.pred_sem_seg.data == b.pred_sem_seg.data).float().mean().item()
        assert agreement >= 0.9999

    ours.train(), theirs.train()
    losses = []
    for model in (ours, theirs):
        data = model.data_preprocessor(seg_batch(height, width), True)
        torch.manual_seed(7)  # the same dropout masks
        loss = model(**data, mode='loss')
        sum(v for k, v in loss.items() if 'loss' in k).backward()
        losses.append(loss)
    assert set(losses[0]) == set(losses[1])
    for key in losses[1]:
        assert relative(losses[0][key], losses[1][key]) <= TOL, key
    grads = {name: param.grad for name, param in ours.named_parameters()}
    grads_ref = {name: param.grad for name, param in theirs.named_parameters()}
    assert relative(torch.cat([g.flatten() for g in grads.values()]),
                    torch.cat([grads_ref[name].flatten() for name in grads])) <= TOL
    for name in grads:
        # Backbone gradients are sums over many pixels with cancellation (BN), which
        # magnifies any rounding difference from the head: MMSegmentation's own model
        # run with 1 thread instead of 2 differs from itself by up to 2e-4 per parameter.
        tol = TOL if name.startswith(('decode_head.', 'auxiliary_head.')) else 1e-4
        assert relative(grads[name], grads_ref[name]) <= tol, name
