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


# ------------------------------------------------------------- the two caffe.proto numberings
def _varint(value: int) -> bytes:
    out = b''
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def _field(number: int, value) -> bytes:
    """One protobuf field: int -> varint, float -> fixed32, bytes -> length-delimited."""
    if isinstance(value, float):
        return _varint(number << 3 | 5) + np.float32(value).tobytes()
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def test_head_numbering_from_the_forks_proto(tmp_path):
    """Field numbers typed in from hszhao/PSPNet caffe.proto at c479f4f, not from ours.

    LayerParameter: name 1, type 2, blobs 7, convolution_param 106, interp_param 143,
    bn_param 152; BNParameter eps 4; ConvolutionParameter stride 6, dilation 18;
    InterpParameter height 1, width 2; BlobProto shape 7 (BlobShape dim 1), data 5;
    NetParameter layer 100.
    """
    def blob(shape):
        values = np.arange(int(np.prod(shape)), dtype=np.float32)
        dims = b''.join(_varint(d) for d in shape)
        return _field(7, _field(1, dims)) + _field(5, values.tobytes())

    conv = (_field(1, b'conv4_1_3x3') + _field(2, b'ConvolutionData') +
            _field(7, blob((2, 2, 3, 3))) + _field(106, _field(6, 2) + _field(18, 2)))
    bn = (_field(1, b'conv4_1_3x3/bn') + _field(2, b'BN') +
          b''.join(_field(7, blob((2, ))) for _ in range(4)) + _field(152, _field(4, 1e-3)))
    interp = (_field(1, b'conv5_3_pool1_interp') + _field(2, b'Interp') +
              _field(143, _field(1, 60) + _field(2, 60)))
    path = tmp_path / 'head.caffemodel'
    path.write_bytes(b''.join(_field(100, layer) for layer in (conv, bn, interp)))
    net = read_caffemodel(str(path))
    assert net.schema == 'c479f4f'
    by_name = {layer.name: layer for layer in net}
    assert by_name['conv4_1_3x3'].stride == 2 and by_name['conv4_1_3x3'].dilation == 2
    assert by_name['conv4_1_3x3/bn'].eps == pytest.approx(1e-3)
    assert net.interps['conv5_3_pool1_interp']['height'] == 60
    np.testing.assert_array_equal(by_name['conv4_1_3x3/bn'].blobs[3], [0, 1])


def _tiny_config(tmp_path, eps=1e-3, dilations=(1, 1, 2, 4), crop=SIZE):
    cfg = tmp_path / f'tiny_{eps}_{dilations[-1]}.py'
    cfg.write_text(f"""_base_ = ['{REPO}/configs/_base_/models/pspnet_authors.py',
                      '{REPO}/configs/_base_/default_runtime.py']
norm = dict(type='BN', requires_grad=True, eps={eps})
model = dict(backbone=dict(base_channels=8, stem_channels=16, style='caffe', norm_cfg=norm,
                           dilations={dilations}),
             decode_head=dict(in_channels=256, channels=64, num_classes=5, norm_cfg=norm),
             auxiliary_head=None,
             test_cfg=dict(mode='whole', crop_size=({crop}, {crop})))
""")
    return cfg


def test_head_file_stored_eps_dilation_interp_are_used(tmp_path, monkeypatch, capsys):
    """A HEAD-numbered file with BN eps 1e-3: the eps reaches the meta and the config check."""
    layers = caffe_pspnet_layers(depth=50, classes=5, seed=3)
    src = tmp_path / 'pspnet50_tiny.caffemodel'
    write_caffemodel(src, layers, style='caffe', eps=1e-3, dilation=True, interp_size=12)
    dst = tmp_path / 'tiny.pth'
    run_tool('convert_caffe.py', src, dst, '--config', _tiny_config(tmp_path),
             monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    meta = torch.load(dst, map_location='cpu', weights_only=True)['meta']
    assert meta['caffe_schema'] == 'c479f4f', out
    assert meta['bn_eps'] == [pytest.approx(1e-3)]
    assert tuple(meta['dilations']) == (1, 1, 2, 4) and meta['contract_dilation'] is False
    assert meta['crop_size'] == SIZE  # (12 - 1) * 8 + 1
    assert 'warning: ' in out and '0.001' in out  # differs from the shipped configs' 1e-5

    # The eps matters: the Caffe net with eps 1e-3 equals ours with eps 1e-3 only.
    ours = build_ours(depth=50, classes=5, style='caffe', aux=False, eps=1e-3)
    ours.load_state_dict(torch.load(dst, map_location='cpu', weights_only=True)['state_dict'])
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = caffe_forward(dict(layers), x, depth=50, style='caffe', eps=1e-3)
        assert (ours(x, mode='tensor') - expected).abs().max() < 1e-4

    with pytest.raises(SystemExit, match=r"eps=1e-05 but the Caffe model's BN layers store "
                                         r'eps \[0.001\]'):
        run_tool('convert_caffe.py', src, tmp_path / 'bad.pth', '--config',
                 _tiny_config(tmp_path, eps=1e-5), monkeypatch=monkeypatch)
    with pytest.raises(SystemExit, match=r'dilations=\(1, 1, 1, 2\).*\(1, 1, 2, 4\)'):
        run_tool('convert_caffe.py', src, tmp_path / 'bad.pth', '--config',
                 _tiny_config(tmp_path, dilations=(1, 1, 1, 2)), monkeypatch=monkeypatch)
    assert not (tmp_path / 'bad.pth').exists()


def test_first_commit_numbering_is_detected(tmp_path, monkeypatch):
    layers = caffe_pspnet_layers(depth=50, classes=5, seed=4)
    src = tmp_path / 'old.caffemodel'
    write_caffemodel(src, layers, style='caffe', eps=1e-3, dilation=True, schema='88d0b3e')
    net = read_caffemodel(str(src))
    assert net.schema == '88d0b3e'
    assert {round(layer.eps, 7) for layer in net if layer.name.endswith('/bn')} == {1e-3}
    assert next(x for x in net if x.name == 'conv5_2_3x3').dilation == 4
    _, info = convert_caffe_layers(net)
    assert info['dilations'] == (1, 1, 2, 4) and info['style'] == 'caffe'

    # Forced to HEAD's numbering, the old bn_param (137) is not read: said, not silent.
    with pytest.warns(UserWarning, match=r'only 88d0b3e declares'):
        forced = read_caffemodel(str(src), schema='c479f4f')
    assert all(layer.eps is None for layer in forced)

    dst = tmp_path / 'old.pth'
    run_tool('convert_caffe.py', src, dst, '--config', _tiny_config(tmp_path),
             monkeypatch=monkeypatch)
    meta = torch.load(dst, map_location='cpu', weights_only=True)['meta']
    assert meta['caffe_schema'] == '88d0b3e' and meta['bn_eps'] == [pytest.approx(1e-3)]


def test_a_file_with_both_numberings_is_refused(tmp_path):
    from mmseg_psp_ext.converters import caffe_88d0b3e_pb2, caffe_pb2
    net = caffe_pb2.NetParameter()
    net.layer.add(name='a/bn').bn_param.eps = 1e-3
    old = caffe_88d0b3e_pb2.NetParameter()
    old.layer.add(name='b/bn').bn_param.eps = 1e-3
    path = tmp_path / 'mixed.caffemodel'
    path.write_bytes(net.SerializeToString() + old.SerializeToString())
    with pytest.raises(ValueError, match=r'1 layers store fields numbered as in the fork.s '
                                         r'HEAD .*c479f4f.* and 1 .*88d0b3e.*--schema'):
        read_caffemodel(str(path))


@pytest.mark.parametrize('proto,module', [('caffe.proto', 'caffe_pb2'),
                                          ('caffe_88d0b3e.proto', 'caffe_88d0b3e_pb2')])
def test_generated_modules_match_the_protos(proto, module):
    """caffe*_pb2.py were regenerated from the .proto next to them (docs/checkpoints.md)."""
    import importlib
    import re
    folder = REPO / 'mmseg_psp_ext' / 'converters'
    text = re.sub(r'//.*', '', (folder / proto).read_text())
    declared = {}
    for name, body in re.findall(r'message (\w+) \{(.*?)\n\}', text, re.S):
        body = re.sub(r'enum \w+ \{.*?\}', '', body, flags=re.S)
        declared[name] = {f: int(n) for f, n in
                          re.findall(r'(?:optional|repeated|required) [\w.]+ (\w+) = (\d+)', body)}
    pb2 = importlib.import_module(f'mmseg_psp_ext.converters.{module}')
    generated = {name: {f.name: f.number for f in desc.fields}
                 for name, desc in pb2.DESCRIPTOR.message_types_by_name.items()}
    assert declared == generated
    head = (folder / f'{module}.py').read_text().splitlines()[4]
    assert head == '# Protobuf Python Version: 7.35.1'  # = the protobuf pin's minimum
    assert 'protobuf>=7.35.1,<8' in (REPO / 'requirements' / 'runtime.txt').read_text()
