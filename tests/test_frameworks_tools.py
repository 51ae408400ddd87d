"""tools/: 2-process torchrun training on CPU (gloo), resume, distributed test, TTA test.

Runs the shell launchers as a user would, with this interpreter (``PYTHON``), on a tiny
synthetic ADE20K; SyncBN in the config checks the CPU fallback to BN.
"""
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch
from frameworks_tiny import DETERMINISTIC, REPO, checkpoint_path, make_ade20k, write_config

import mmseg_psp_ext  # noqa: F401  (lets torch.load below read MMEngine checkpoints)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run(args, log: Path) -> str:
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    # frameworks_tiny (its RecordLossHook) importable by configs through custom_imports
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO), str(REPO / 'tests')] + [p for p in [env.get('PYTHONPATH')] if p])
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f'{args} failed, log {log}:\n{result.stderr[-3000:]}'
    return result.stdout + result.stderr


@pytest.mark.slow
def test_distributed_train_resume_test_and_tta(tmp_path):
    data = make_ade20k(tmp_path / 'ade', num_train=4, num_val=2)
    config = write_config(tmp_path / 'tiny.py', data, max_iters=2, interval=2,
                          norm='SyncBN', backend='gloo')
    work = tmp_path / 'work'

    log = _run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work)],
               tmp_path / 'train.log')
    assert 'Distributed training: True' in log
    assert re.search(r"dist_cfg.*'backend': 'gloo'", log)
    assert 'SyncBN layers replaced by BN' in log
    assert checkpoint_path(work, 2).is_file()
    first = torch.load(checkpoint_path(work, 2), map_location='cpu')
    assert first['meta']['iter'] == 2

    log = _run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir', str(work),
                '--resume', '--cfg-options', 'train_cfg.max_iters=4'], tmp_path / 'resume.log')
    assert f'Auto resumed from the latest checkpoint {checkpoint_path(work, 2)}' in log
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/4]' in log and 'Iter(train) [1/4]' not in log
    final = torch.load(checkpoint_path(work, 4), map_location='cpu')
    assert final['meta']['iter'] == 4
    changed = [k for k, v in final['state_dict'].items()
               if v.is_floating_point() and not torch.equal(v, first['state_dict'][k])]
    assert changed, 'resuming trained nothing'

    out, show = tmp_path / 'pred', tmp_path / 'show'
    log = _run(['bash', 'tools/dist_test.sh', str(config), str(checkpoint_path(work, 4)), '2',
                '--work-dir', str(tmp_path / 'test'), '--out', str(out),
                '--show-dir', str(show)], tmp_path / 'test.log')
    assert re.search(r'Iter\(test\) \[\d+/\d+\].*mIoU', log)
    predictions = sorted(out.glob('*.png'))
    assert [p.stem for p in predictions] == sorted(
        p.stem for p in (data / 'images' / 'validation').glob('*.jpg'))
    for path in predictions:
        labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert labels.shape == (48, 48) and labels.max() < 150
    # Painted images (drawn on rank 0 only, MMEngine's visualizer is master-only).
    painted = sorted(show.rglob('*.png'))
    assert painted and all(any(p.stem in image.name for p in predictions) for image in painted)
    assert cv2.imread(str(painted[0])).shape[:2] == (48, 96)  # ground truth | prediction

    tta_out = tmp_path / 'pred_tta'
    log = _run([sys.executable, 'tools/test.py', str(config), str(checkpoint_path(work, 4)),
                '--work-dir', str(tmp_path / 'tta'), '--tta', '--out', str(tta_out)],
               tmp_path / 'tta.log')
    assert 'SegTTAModel' in log
    tta = [cv2.imread(str(tta_out / p.name), cv2.IMREAD_UNCHANGED) for p in predictions]
    assert all(t is not None and t.shape == (48, 48) and t.max() < 150 for t in tta)


RECORD_LOSSES = DETERMINISTIC + """
custom_imports = dict(imports=['mmseg_psp_ext', 'frameworks_tiny'], allow_failed_imports=False)
custom_hooks = [dict(type='FiniteLossHook'), dict(type='RecordLossHook')]
"""


@pytest.mark.slow
def test_two_process_ddp_equals_one_process_with_the_same_global_batch(tmp_path):
    """2 gloo processes x 1 image == 1 process x 2 images: losses and weights (GroupNorm,
    whose statistics do not depend on how the batch is split)."""
    data = make_ade20k(tmp_path / 'ade', num_train=4, num_val=1)
    runs = {}
    for name, procs, batch in (('single', 1, 2), ('ddp', 2, 1)):
        config = write_config(tmp_path / f'{name}.py', data, max_iters=2, interval=2,
                              batch_size=batch, norm='GN', backend='gloo',
                              extra=RECORD_LOSSES)
        work = tmp_path / name
        if procs == 1:
            _run([sys.executable, 'tools/train.py', str(config), '--work-dir', str(work)],
                 tmp_path / f'{name}.log')
        else:
            log = _run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
                        str(work)], tmp_path / f'{name}.log')
            assert 'Distributed training: True' in log
        losses = [json.loads((work / f'losses_rank{r}.json').read_text()) for r in range(procs)]
        runs[name] = losses, torch.load(checkpoint_path(work, 2), map_location='cpu')

    (single,), single_ckpt = runs['single']
    ranks, ddp_ckpt = runs['ddp']
    assert len(single) == 2 and all(len(r) == 2 for r in ranks)
    for iteration, expected in enumerate(single):
        for term in ('loss', 'decode.loss_ce', 'aux.loss_ce'):
            mean = sum(r[iteration][term] for r in ranks) / len(ranks)
            assert mean == pytest.approx(expected[term], rel=1e-5, abs=1e-6), (iteration, term)
    assert ranks[0][0]['loss'] != ranks[1][0]['loss']  # the processes saw different images
    single_state, ddp_state = single_ckpt['state_dict'], ddp_ckpt['state_dict']
    assert single_state.keys() == ddp_state.keys()
    for key, value in single_state.items():
        torch.testing.assert_close(ddp_state[key], value, rtol=1e-4, atol=1e-6, msg=key)
    assert single_ckpt['meta']['iter'] == ddp_ckpt['meta']['iter'] == 2


def test_launchers_reject_missing_arguments():
    for script, needed in (('dist_train.sh', 2), ('dist_test.sh', 3), ('slurm_train.sh', 3),
                           ('slurm_test.sh', 4)):
        result = subprocess.run(['bash', f'tools/{script}'] + ['x'] * (needed - 1), cwd=REPO,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and 'usage:' in result.stderr, script

