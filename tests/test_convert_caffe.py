"""The authors' Caffe models (.caffemodel, fork layer types) through tools/convert_caffe.py."""
from pathlib import Path

import numpy as np
import pytest
import torch
from convert_reference import build_ours, caffe_forward, caffe_pspnet_layers, write_caffemodel
from convert_tools import run_tool

from mmseg_psp_ext.converters import (CaffeLayer, CheckpointMismatchError, check_against,
                                      check_against_config, convert_caffe_layers,
                                      read_caffemodel)

REPO = Path(__file__).resolve().parents[1]
SIZE = 89  # feature map 12x12: divisible by every bin, as 473 -> 60 is in the real models


@pytest.mark.parametrize('style,v1', [('caffe', False), ('pytorch', False), ('pytorch', True)])
def test_tool_output_matches_caffe_forward(tmp_path, monkeypatch, capsys, style, v1):
    layers = caffe_pspnet_layers(depth=50, classes=5, seed=2)
    src, dst = tmp_path / 'pspnet50_tiny.caffemodel', tmp_path / 'tiny.pth'
    write_caffemodel(src, layers, v1=v1, style=style)
    run_tool('convert_caffe.py', src, dst, '--no-check', monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    converted = torch.load(dst, map_location='cpu', weights_only=True)
    assert converted['meta']['style'] == style, out
    assert 'auxiliary_head.conv_seg.weight' not in converted['state_dict']
    ours = build_ours(depth=50, classes=5, style=style, aux=False)
    ours.load_state_dict(converted['state_dict'], strict=True)
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = caffe_forward(dict(layers), x, depth=50, style=style)
        actual = ours(x, mode='tensor')
    assert actual.shape == expected.shape == (1, 5, 12, 12)
    diff = (actual - expected).abs().max().item()
    print(f'caffe style={style} v1={v1} max abs diff {diff:.3g} '
          f'(logit range {expected.abs().max().item():.3g})')
    assert diff < 1e-4


def test_reader_keeps_names_types_and_shapes(tmp_path):
    layers = caffe_pspnet_layers(depth=50, classes=3, seed=0)
    write_caffemodel(tmp_path / 'm.caffemodel', layers, style='caffe')
    read = read_caffemodel(str(tmp_path / 'm.caffemodel'))
    assert [layer.name for layer in read] == [name for name, _ in layers]
    bn = next(layer for layer in read if layer.name == 'conv5_4/bn')
    assert bn.type == 'BNData' and len(bn.blobs) == 4 and bn.eps == pytest.approx(1e-5)
    assert next(layer for layer in read if layer.name == 'conv5_1_3x3').type == \
        'HoleConvolutionData'
    np.testing.assert_array_equal(read[0].blobs[0], layers[0][1][0])


def test_concat_order_is_permuted():
    """With only pool1's conv5_4 weights nonzero, our bin-1 channels get them."""
    layers = caffe_pspnet_layers(depth=50, classes=3)
    blobs = dict(layers)
    w = blobs['conv5_4'][0]
    c, r = 256, 64
    w[:] = 0
    w[:, c + 3 * r:c + 4 * r] = 1.0  # Caffe: [x, pool6, pool3, pool2, pool1]
    sd, _ = convert_caffe_layers([CaffeLayer(n, 'ConvolutionData', b) for n, b in layers])
    ours = sd['decode_head.bottleneck.conv.weight']
    assert ours[:, c:c + r].eq(1).all() and ours.sum() == w.sum()


def bad(layers, name, blobs):
    return [CaffeLayer(n, 'X', blobs if n == name else b) for n, b in layers]


def test_errors_name_the_layer():
    layers = caffe_pspnet_layers(depth=50, classes=3)
    with pytest.raises(ValueError, match=r'conv3_2_3x3/bn: 2 blobs, a BN layer needs 4'):
        convert_caffe_layers(bad(layers, 'conv3_2_3x3/bn', dict(layers)['conv3_2_3x3/bn'][:2]))
    extra = [CaffeLayer(n, 'X', b) for n, b in layers] + \
        [CaffeLayer('conv4_7_aux', 'ConvolutionData', [np.zeros((2, 2, 1, 1), np.float32)])]
    with pytest.raises(ValueError, match=r'conv4_7_aux \(ConvolutionData\)'):
        convert_caffe_layers(extra)
    with pytest.raises(ValueError, match=r'conv2_1_3x3: 2 blobs; only the classifier'):
        convert_caffe_layers(bad(layers, 'conv2_1_3x3',
                                 dict(layers)['conv2_1_3x3'] + [np.zeros(8, np.float32)]))


def test_mismatch_with_model_names_keys():
    sd, info = convert_caffe_layers([CaffeLayer(n, 'X', b) for n, b in
                                     caffe_pspnet_layers(depth=50, classes=3)])
    assert info['depth'] == 50 and info['num_classes'] == 3
    with pytest.raises(CheckpointMismatchError, match=r'missing keys.*auxiliary_head'):
        check_against(sd, build_ours(depth=50, classes=3, aux=True).state_dict())
    with pytest.raises(CheckpointMismatchError, match=r'conv_seg\.weight: checkpoint \(3,'):
        check_against(sd, build_ours(depth=50, classes=19, aux=False).state_dict())


def test_tool_refuses_style_mismatch(tmp_path, monkeypatch):
    """A Caffe-style file checked against a pytorch-style config fails, naming both."""
    write_caffemodel(tmp_path / 'm.caffemodel', caffe_pspnet_layers(depth=50, classes=150),
                     style='caffe')
    cfg = tmp_path / 'tiny_pytorch.py'
    cfg.write_text(f"""_base_ = ['{REPO}/configs/_base_/models/pspnet_authors.py',
                      '{REPO}/configs/_base_/default_runtime.py']
model = dict(backbone=dict(base_channels=8, stem_channels=16, style='pytorch'),
             decode_head=dict(in_channels=256, channels=64, num_classes=150))
""")
    with pytest.raises(SystemExit) as exc:
        run_tool('convert_caffe.py', tmp_path / 'm.caffemodel', tmp_path / 'o.pth',
                 '--config', cfg, monkeypatch=monkeypatch)
    assert "style='pytorch'" in str(exc.value) and "style='caffe'" in str(exc.value)
    assert not (tmp_path / 'o.pth').exists()


@pytest.mark.slow
@pytest.mark.parametrize('name,depth,classes', [
    ('pspnet50_ade20k', 50, 150), ('pspnet101_voc12', 101, 21),
    ('pspnet101_cityscapes', 101, 19), ('pspnet50_voc12', 50, 21),
    ('pspnet50_cityscapes', 50, 19), ('pspnet101_ade20k', 101, 150)])
def test_converted_configs_fit_full_size_caffe(name, depth, classes):
    """Full-width Caffe layer shapes (uninitialised, not serialised) fit the configs."""
    layers = [CaffeLayer(n, 'X', [np.empty(b.shape, np.float32) for b in blobs])
              for n, blobs in caffe_pspnet_layers(depth=depth, classes=classes, base=64,
                                                  stem=128, seed=None)]
    sd, info = convert_caffe_layers(layers)
    assert info['depth'] == depth
    check_against_config(sd, str(REPO / 'configs' / 'converted' / f'{name}_caffe.py'))
