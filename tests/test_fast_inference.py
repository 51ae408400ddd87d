"""prepare_for_inference (BN folding, channels_last, bf16) and AnyDeviceAmpOptimWrapper on CPU."""
import copy
import subprocess
import sys

import pytest
import torch
from frameworks_tiny import REPO, checkpoint_path, make_ade20k, write_config
from mmengine.config import ConfigDict
from mmseg.registry import MODELS, OPTIM_WRAPPERS

from mmseg_psp_ext.utils.fast_inference import prepare_for_inference


def tiny_pspnet() -> torch.nn.Module:
    norm_cfg = dict(type='BN', requires_grad=True)
    head = dict(num_classes=5, norm_cfg=norm_cfg, align_corners=False, dropout_ratio=0.1,
                loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    model = MODELS.build(ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='DilatedResNet', depth=18, stem_channels=16, base_channels=8,
                      out_indices=(0, 1, 2, 3), norm_cfg=norm_cfg),
        decode_head=dict(type='PPMHead', in_channels=64, in_index=3, channels=16,
                         pool_scales=(1, 2, 3, 6), **head),
        auxiliary_head=dict(type='FCNAuxHead', in_channels=32, in_index=2, channels=8,
                            **head),
        train_cfg=dict(), test_cfg=dict(mode='whole')))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # BN statistics away from identity, so that folding is tested
        for name, tensor in model.state_dict().items():
            if name.endswith('running_var'):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif name.endswith('running_mean'):
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.1)
    return model.eval()


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def test_fuse_and_channels_last_are_exact_in_fp32():
    model = tiny_pspnet()
    x = torch.randn(2, 3, 45, 61, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x, mode='tensor')
        fast = prepare_for_inference(copy.deepcopy(model), fuse_conv_bn=True,
                                     channels_last=True)
        got = fast(x, mode='tensor')
    bns = [m for m in fast.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert not bns, f'{len(bns)} BatchNorm layers left unfolded'
    assert fast.backbone.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert got.dtype == torch.float32
    assert relative(got, expected) < 1e-5


@pytest.mark.slow  # compiling takes about 15 s
def test_compile_keeps_modules_keys_and_results():
    model = tiny_pspnet()
    x = torch.randn(1, 3, 40, 48, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = model(x, mode='tensor')
        fast = prepare_for_inference(copy.deepcopy(model), compile=True)
        got = fast(x, mode='tensor')
    for part in (fast.backbone, fast.decode_head, fast.auxiliary_head):
        assert part._compiled_call_impl is not None, type(part).__name__
    assert fast.state_dict().keys() == model.state_dict().keys()
    assert relative(got, expected) < 1e-5


def test_bf16_keeps_float32_interface_and_predictions():
    model = tiny_pspnet()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = model(x, mode='tensor')
        fast = prepare_for_inference(copy.deepcopy(model), fuse_conv_bn=True, dtype='bf16')
        got = fast(x, mode='tensor')
        [sample] = fast.predict(x)
    assert fast.backbone.stem[0].weight.dtype == torch.bfloat16
    assert fast.data_preprocessor.mean.dtype == torch.float32
    assert got.dtype == torch.float32 and sample.seg_logits.data.dtype == torch.float32
    assert 1e-4 < relative(got, expected) < 0.05  # really bf16, and close
    assert sample.pred_sem_seg.data.shape == (1, 64, 64)


def test_bad_dtype_and_fp16_on_cpu_are_refused():
    with pytest.raises(ValueError, match="dtype='fp16' needs a CUDA device"):
        prepare_for_inference(tiny_pspnet(), dtype='fp16')
    with pytest.raises(ValueError, match="dtype='int8'"):
        prepare_for_inference(tiny_pspnet(), dtype='int8')


def test_amp_optim_wrapper_autocasts_bf16_on_cpu():
    model = tiny_pspnet().train()
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AnyDeviceAmpOptimWrapper',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    x = torch.randn(2, 3, 32, 32)
    before = model.backbone.stem[0].weight.detach().clone()
    with wrapper.optim_context(model):
        logits = model(x, mode='tensor')
    assert logits.dtype == torch.bfloat16
    wrapper.update_params(logits.float().square().mean())
    assert not torch.equal(before, model.backbone.stem[0].weight)
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    wrapper.load_state_dict(dict(state, loss_scaler={'scale': 512.}))  # saved on a GPU
    with pytest.raises(ValueError, match="only 'bfloat16'"):
        OPTIM_WRAPPERS.build(dict(type='AnyDeviceAmpOptimWrapper', dtype='float16',
                                  optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))


def _run(args):
    return subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_train_amp_then_test_bf16_fused(tmp_path):
    data = make_ade20k(tmp_path / 'ade', num_train=2, num_val=2)
    config = write_config(tmp_path / 'tiny.py', data, max_iters=2, interval=2)
    work = tmp_path / 'work'
    result = _run(['tools/train.py', str(config), '--work-dir', str(work), '--amp'])
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'AnyDeviceAmpOptimWrapper' in result.stdout + result.stderr
    ckpt = checkpoint_path(work, 2)
    assert ckpt.is_file()
    # The README's forms: --fuse-conv-bn [--dtype bf16|fp16] (fp32 is the default).
    for dtype in ('fp32', 'bf16'):
        result = _run(['tools/test.py', str(config), str(ckpt), '--work-dir',
                       str(tmp_path / dtype), '--fuse-conv-bn',
                       *(['--dtype', dtype] if dtype != 'fp32' else [])])
        assert result.returncode == 0, result.stderr[-3000:]
        assert 'mIoU' in result.stdout + result.stderr
    result = _run(['tools/test.py', str(config), str(ckpt), '--fuse-conv-bn', '--dtype', 'bf16',
                   '--compile', '--work-dir', str(tmp_path / 'compiled')])
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'mIoU' in result.stdout + result.stderr
    result = _run(['tools/test.py', str(config), str(ckpt), '--fuse-conv-bn', '--dtype', 'fp16',
                   '--work-dir', str(tmp_path / 'fp16')])
    assert result.returncode != 0
    assert "dtype='fp16' needs a CUDA device" in result.stderr
