"""ONNX export (static and dynamic sizes) and the onnxruntime / OpenVINO backends."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_psp_ext.deploy import (ExportableAdaptivePool2d, build_backend, export_onnx,
                                  exportable_adaptive_pooling)

DEMO_CONFIG = 'configs/demo/pspnet_r18_context_demo.py'


def build_demo_model(pool_type: str = 'avg') -> nn.Module:
    """The demo PSPNet (narrow R18-D8) with random weights and non-trivial BN statistics."""
    torch.manual_seed(0)
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.decode_head.pool_type = pool_type
    model = MODELS.build(cfg.model)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def relative_diff(out: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(out - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize('pool_type', ['avg', 'max'])
@pytest.mark.parametrize('size', [(64, 64), (49, 65), (7, 5), (1, 13), (60, 97)])
def test_exportable_pooling_equals_adaptive_pooling(pool_type, size):
    x = torch.randn(2, 3, *size)
    reference = F.adaptive_avg_pool2d if pool_type == 'avg' else F.adaptive_max_pool2d
    for bins in (1, 2, 3, 6, (2, 5)):
        out = ExportableAdaptivePool2d(bins, pool_type)(x)
        expected = reference(x, bins)
        assert out.shape == expected.shape
        if pool_type == 'max':
            assert torch.equal(out, expected)
        else:
            torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)


def test_pooling_swap_is_undone():
    model = build_demo_model()
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    with exportable_adaptive_pooling(model) as count:
        assert count == len(pools) == 4
        assert not any(isinstance(m, nn.AdaptiveAvgPool2d) for m in model.modules())
    assert [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)] == pools


def check_backends(model: nn.Module, onnx_file, sizes, batch: int = 1) -> None:
    eager = build_backend('eager', model=model)
    runners = {name: build_backend(name, onnx_file) for name in ('onnxruntime', 'openvino')}
    generator = torch.Generator().manual_seed(1)
    for size in sizes:
        x = torch.randn(batch, 3, *size, generator=generator)
        ref = eager(x)
        assert ref.shape == (batch, 8, *size)
        for name, run in runners.items():
            out = run(x)
            assert out.shape == ref.shape and out.dtype == np.float32
            assert relative_diff(out, ref) < 1e-4, (name, size)
            assert (out.argmax(1) == ref.argmax(1)).mean() > 0.999, (name, size)


@pytest.fixture(scope='module')
def dynamic_export(tmp_path_factory):
    model = build_demo_model()
    return model, export_onnx(model, tmp_path_factory.mktemp('onnx') / 'dynamic.onnx',
                              size=(256, 256), dynamic=True)


@pytest.mark.slow  # each export takes 10-40 s (torch.export + ONNX translation)
def test_dynamic_export_at_any_size(dynamic_export):
    """473 (feature 60x60), 512 (64x64: bins 3 and 6 do not divide it), 385x517."""
    model, onnx_file = dynamic_export
    check_backends(model, onnx_file, [(473, 473), (512, 512), (385, 517)])
    check_backends(model, onnx_file, [(97, 130)], batch=3)


def test_backend_errors(tmp_path):
    onnx_file = tmp_path / 'dummy.onnx'  # never opened: the arguments are refused first
    onnx_file.write_bytes(b'')
    with pytest.raises(ValueError, match='not one of'):
        build_backend('tensorrt', onnx_file)
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        build_backend('onnxruntime', tmp_path / 'missing.onnx')
    with pytest.raises(ValueError, match='fp32'):
        build_backend('onnxruntime', onnx_file, precision='bf16')
    with pytest.raises(ValueError, match='model='):
        build_backend('eager')


@pytest.mark.slow
@pytest.mark.parametrize('size', [(512, 512), (385, 517)])
def test_static_export(tmp_path, size):
    """512: a 64x64 feature map that bins 3 and 6 do not divide; 385x517: odd sizes."""
    model = build_demo_model()
    onnx_file = export_onnx(model, tmp_path / 'static.onnx', size=size)
    check_backends(model, onnx_file, [size], batch=2)


@pytest.mark.slow
def test_dynamic_export_max_pooling(tmp_path):
    model = build_demo_model('max')
    onnx_file = export_onnx(model, tmp_path / 'max.onnx', size=(256, 256), dynamic=True)
    check_backends(model, onnx_file, [(512, 512), (385, 517)])
