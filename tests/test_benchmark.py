"""tools/benchmark.py runs end to end and its last line is the promised JSON (no timing checks)."""
import json
import subprocess
import sys

import pytest
from frameworks_tiny import REPO

CONFIG = 'configs/demo/pspnet_r18_context_demo.py'  # narrow R18: seconds, not minutes
KEYS = {'mode', 'device', 'dtype', 'backend', 'ours', 'reference', 'speedup', 'max_abs_diff',
        'relative_diff', 'pixel_agreement', 'peak_rss_mb'}


def benchmark(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, 'tools/benchmark.py', CONFIG, '--size', '64', '--iters', '1',
         '--warmup', '0', '--threads', '1', *args],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith('[benchmark') for line in lines)  # progress while it runs
    report = json.loads(lines[-1])
    assert KEYS <= set(report)
    assert report['ours'] > 0 and report['reference'] > 0 and report['peak_rss_mb'] > 0
    return report


def test_infer_fp32_fused_matches_mmseg():
    report = benchmark('--mode', 'infer', '--fuse-conv-bn', '--channels-last')
    assert (report['mode'], report['dtype'], report['backend']) == ('infer', 'fp32', 'eager')
    assert report['relative_diff'] < 1e-4
    assert report['pixel_agreement'] > 0.999


def test_train_fp32_reports_the_same_loss_and_gradients():
    report = benchmark('--mode', 'train', '--batch', '2')
    assert (report['mode'], report['dtype']) == ('train', 'fp32')
    # Ours (fast head and fast loss) against MMSegmentation's computation, same weights.
    assert report['loss_relative_diff'] < 1e-5 and report['grad_relative_diff'] < 1e-4
    assert report['step_peak_mb_ours'] > 0 and report['step_peak_mb_reference'] > 0


@pytest.mark.slow
def test_train_bf16_runs():
    report = benchmark('--mode', 'train', '--dtype', 'bf16', '--batch', '2')
    assert (report['mode'], report['dtype']) == ('train', 'bf16')
    assert 0 < report['relative_diff'] < 0.5  # bf16 autocast against fp32: close, not equal


def test_fp16_on_cpu_is_refused():
    result = subprocess.run([sys.executable, 'tools/benchmark.py', CONFIG, '--dtype', 'fp16'],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and '--dtype fp16 needs a CUDA' in result.stderr


@pytest.mark.parametrize('dtype', ['fp32', 'bf16'])
def test_dataset_mode_reports_agreement_and_both_mious(tmp_path, dtype):
    """The README's ``--dataset --checkpoint --dtype bf16 --fuse-conv-bn --threads 1``."""
    import torch
    from frameworks_tiny import make_ade20k, write_config
    from mmengine.config import Config
    from mmseg.registry import MODELS

    data = make_ade20k(tmp_path / 'ade', num_train=1, num_val=2)
    config = write_config(tmp_path / 'tiny.py', data)
    model = MODELS.build(Config.fromfile(str(config)).model)
    ckpt = tmp_path / 'weights.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    result = subprocess.run(
        [sys.executable, 'tools/benchmark.py', str(config), '--dataset', '--checkpoint',
         str(ckpt), '--dtype', dtype, '--fuse-conv-bn', '--threads', '1'],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert KEYS <= set(report) and report['images'] == 2 and report['dtype'] == dtype
    if dtype == 'fp32':  # BN folded: the same logits to float rounding
        assert report['relative_diff'] < 1e-4 and report['pixel_agreement'] > 0.99
    else:  # bf16 rounding; on untrained weights it flips near-tied argmaxes (see README)
        assert 0 < report['relative_diff'] < 0.1 and 0 <= report['pixel_agreement'] <= 1
    assert 0 <= report['miou_ours'] <= 100 and 0 <= report['miou_reference'] <= 100


@pytest.mark.parametrize('backend', ['onnxruntime',
                                     pytest.param('openvino', marks=pytest.mark.nncf)])
def test_infer_int8_quantizes_on_the_fly(backend):
    report = benchmark('--backend', backend, '--dtype', 'int8', '--calib-images', '2')
    assert (report['dtype'], report['backend']) == ('int8', backend)
    # INT8 against the fp32 reference on random weights and a random input: close, not equal.
    assert 0 < report['relative_diff'] < 0.5 and report['pixel_agreement'] > 0.5


def test_int8_needs_an_exported_backend():
    result = subprocess.run([sys.executable, 'tools/benchmark.py', CONFIG, '--dtype', 'int8'],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and '--dtype int8 needs --backend' in result.stderr
