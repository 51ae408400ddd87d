"""DilatedResNet: every option of the backbone on tiny inputs."""
import pytest
import torch
from mmseg.models.backbones import ResNetV1c

from mmseg_psp_ext.models import DilatedResNet

OS8 = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
OS16 = dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2))


@pytest.mark.parametrize('depth,channels', [(18, (64, 128, 256, 512)),
                                            (50, (256, 512, 1024, 2048))])
@pytest.mark.parametrize('layout,stride', [(OS8, 8), (OS16, 16)])
def test_output_stride_and_channels(depth, channels, layout, stride):
    net = DilatedResNet(depth=depth, **layout).eval()
    assert net.output_stride == stride
    with torch.no_grad():
        outs = net(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == list(channels)
    assert outs[-1].shape[2:] == (64 // stride, 64 // stride)
    assert outs[0].shape[2:] == (16, 16)
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize('depth,blocks', [(18, (2, 2, 2, 2)), (34, (3, 4, 6, 3)),
                                          (101, (3, 4, 23, 3)), (152, (3, 8, 36, 3)),
                                          (269, (3, 30, 48, 8))])
def test_depths_have_the_published_block_counts(depth, blocks):
    with torch.device('meta'):  # structure only: no memory, no init cost
        net = DilatedResNet(depth=depth)
    assert tuple(len(getattr(net, f'layer{i}')) for i in range(1, 5)) == blocks


def test_unknown_depth_is_named_in_the_error():
    with pytest.raises(ValueError, match='depth=42'):
        DilatedResNet(depth=42)


@pytest.mark.parametrize('kwargs,match', [
    (dict(style='tf'), "style='tf'"),
    (dict(stem_channels=63), 'stem_channels=63'),
    (dict(strides=(1, 2, 1)), 'one entry per stage'),
    (dict(dilations=(1, 1, 0, 4)), 'must be positive'),
    (dict(avg_down=True), 'avg_down'),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DilatedResNet(depth=50, **kwargs)


@pytest.mark.parametrize('stem,widths', [(64, (32, 32, 64)), (128, (64, 64, 128))])
def test_stem_widths(stem, widths):
    net = DilatedResNet(depth=50, stem_channels=stem)
    assert tuple(net.stem[i].out_channels for i in (0, 3, 6)) == widths
    assert net.layer1[0].conv1.in_channels == stem


def test_torchvision_stem_without_deep_stem():
    net = DilatedResNet(depth=50, deep_stem=False)
    assert net.conv1.kernel_size == (7, 7) and not hasattr(net, 'stem')


@pytest.mark.parametrize('contract,first', [(True, (1, 2)), (False, (2, 4))])
def test_contracted_dilation_halves_the_first_block(contract, first):
    net = DilatedResNet(depth=50, contract_dilation=contract)
    assert (net.layer3[0].conv2.dilation[0], net.layer4[0].conv2.dilation[0]) == first
    assert (net.layer3[1].conv2.dilation[0], net.layer4[1].conv2.dilation[0]) == (2, 4)


@pytest.mark.parametrize('style,conv1_stride,conv2_stride', [('pytorch', 1, 2),
                                                             ('caffe', 2, 1)])
def test_stride_placement(style, conv1_stride, conv2_stride):
    block = DilatedResNet(depth=50, style=style).layer2[0]
    assert block.conv1.stride == (conv1_stride, conv1_stride)
    assert block.conv2.stride == (conv2_stride, conv2_stride)


def test_keys_and_outputs_equal_mmseg_resnetv1c():
    ours = DilatedResNet(depth=50, **OS8).eval()
    theirs = ResNetV1c(depth=50, contract_dilation=True, **OS8)
    theirs.eval()  # returns None in mmseg's ResNet
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.rand(1, 3, 48, 48)
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            assert torch.equal(a, b)


def test_norm_eval_keeps_bn_in_eval_mode():
    net = DilatedResNet(depth=18, norm_eval=True)
    net.train()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)
    before = bns[0].running_mean.clone()
    net(torch.rand(2, 3, 32, 32))
    assert torch.equal(before, bns[0].running_mean)


def test_frozen_stages_stop_gradients():
    net = DilatedResNet(depth=18, frozen_stages=2)
    net.train()
    frozen = [net.stem, net.layer1, net.layer2]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in net.layer3.parameters())
    assert not net.layer1.training and net.layer3.training


def test_gradients_reach_every_parameter():
    net = DilatedResNet(depth=18)
    net.train()
    sum(o.mean() for o in net(torch.rand(2, 3, 32, 32))).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing


def test_activation_checkpointing_gives_the_same_output_and_gradients():
    torch.manual_seed(0)
    plain = DilatedResNet(depth=18)
    with_cp = DilatedResNet(depth=18, with_cp=True)
    with_cp.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    outs = []
    for net in (plain, with_cp):
        net.train()
        out = net(x)[-1]
        out.sum().backward()
        outs.append((out.detach(), net.layer4[0].conv1.weight.grad.clone()))
    assert torch.allclose(outs[0][0], outs[1][0], atol=1e-5)
    assert torch.allclose(outs[0][1], outs[1][1], atol=1e-4)
