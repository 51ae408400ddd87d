"""hszhao/semseg checkpoints through tools/convert_semseg.py into our PSPNet."""
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from convert_reference import SemsegPSPNet, build_ours, randomize_
from convert_tools import run_tool

from mmseg_psp_ext.converters import (CheckpointMismatchError, check_against,
                                      convert_semseg_state_dict, describe_semseg_state_dict)

REPO = Path(__file__).resolve().parents[1]


def semseg_checkpoint(layers=50, classes=5, seed=0) -> dict:
    """A checkpoint as semseg's train.py saves it from DDP."""
    net = randomize_(SemsegPSPNet(layers=layers, classes=classes), seed).eval()
    state = OrderedDict(('module.' + k, v) for k, v in net.state_dict().items())
    return {'epoch': 100, 'state_dict': state, 'optimizer': {'state': {}, 'param_groups': []}}, net


def test_tool_output_matches_semseg_forward(tmp_path, monkeypatch):
    checkpoint, source_net = semseg_checkpoint()
    src, dst = tmp_path / 'train_epoch_100.pth', tmp_path / 'out' / 'converted.pth'
    torch.save(checkpoint, src)
    run_tool('convert_semseg.py', src, dst, '--no-check', monkeypatch=monkeypatch)
    converted = torch.load(dst, map_location='cpu', weights_only=True)
    assert converted['meta']['depth'] == 50 and converted['meta']['num_classes'] == 5
    ours = build_ours(depth=50, classes=5)
    ours.load_state_dict(converted['state_dict'], strict=True)
    x = torch.randn(2, 3, 65, 65, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = source_net(x)
        actual = ours(x, mode='tensor')
    assert actual.shape == expected.shape == (2, 5, 9, 9)
    diff = (actual - expected).abs().max().item()
    print(f'semseg max abs diff {diff:.3g}')
    assert diff < 1e-4


def test_aux_head_matches_semseg_aux():
    checkpoint, source_net = semseg_checkpoint(seed=3)
    ours = build_ours(depth=50, classes=5)
    ours.load_state_dict(convert_semseg_state_dict(checkpoint['state_dict']), strict=True)
    x = torch.randn(1, 3, 33, 33)
    with torch.no_grad():
        feat = source_net.layer3(source_net.layer2(source_net.layer1(source_net.layer0(x))))
        expected = source_net.aux(feat)
        actual = ours.auxiliary_head(ours.extract_feat(x))
    assert (actual - expected).abs().max().item() < 1e-4


def test_describe_reads_depth_classes_aux():
    checkpoint, _ = semseg_checkpoint(layers=101, classes=7)
    info = describe_semseg_state_dict(checkpoint['state_dict'])
    assert info == dict(depth=101, num_classes=7, has_aux=True, pool_scales_count=4)


def test_unknown_keys_are_named():
    checkpoint, _ = semseg_checkpoint()
    sd = dict(checkpoint['state_dict'])
    sd['module.psa.attention.0.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r'psa\.attention\.0\.weight'):
        convert_semseg_state_dict(sd)


def test_wrong_depth_and_class_count_are_named():
    checkpoint, _ = semseg_checkpoint(layers=101, classes=5)
    converted = convert_semseg_state_dict(checkpoint['state_dict'])
    with pytest.raises(CheckpointMismatchError, match=r'unexpected keys.*backbone\.layer3\.6\.'):
        check_against(converted, build_ours(depth=50, classes=5).state_dict())
    checkpoint, _ = semseg_checkpoint(layers=50, classes=5)
    converted = convert_semseg_state_dict(checkpoint['state_dict'])
    with pytest.raises(CheckpointMismatchError,
                       match=r'decode_head\.conv_seg\.weight: checkpoint \(5, .*model \(7,'
                             r'(.|\n)*number of classes'):
        check_against(converted, build_ours(depth=50, classes=7).state_dict())
    del converted['decode_head.bottleneck.bn.running_var']
    with pytest.raises(CheckpointMismatchError,
                       match=r'missing keys \(1\): decode_head\.bottleneck\.bn\.running_var'):
        check_against(converted, build_ours(depth=50, classes=5).state_dict())


@pytest.mark.slow
@pytest.mark.parametrize('depth', [50, 101])
@pytest.mark.parametrize('dataset,classes', [('ade20k', 150), ('voc12', 21),
                                             ('cityscapes', 19)])
def test_converted_configs_fit_full_size_semseg(depth, dataset, classes):
    """Every configs/converted/*_semseg.py takes a full-width semseg checkpoint strictly."""
    from mmseg_psp_ext.converters import check_against_config
    net = SemsegPSPNet(layers=depth, classes=classes, base=64, stem=128)
    converted = convert_semseg_state_dict(net.state_dict())
    check_against_config(converted, str(REPO / 'configs' / 'converted' /
                                        f'pspnet{depth}_{dataset}_semseg.py'))
