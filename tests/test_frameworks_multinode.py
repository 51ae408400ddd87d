"""Past one machine: two torchrun "nodes", Slurm under a stand-in srun, a killed worker.

Everything runs on this machine with gloo on the CPU and the tiny model of
``frameworks_tiny``: two ``tools/dist_train.sh`` invocations as node 0 and node 1, and
``tools/slurm_train.sh`` / ``slurm_test.sh`` with ``tests/srun_standin.py`` as ``srun``,
must train and test exactly as one process with the same global batch (the tolerances of
``test_frameworks_tools.py``). Launch failures must say what is wrong within a bounded time.
Ports are free ones on 127.0.0.1; every launch has a timeout.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import pytest
import torch
from frameworks_tiny import DETERMINISTIC, REPO, checkpoint_path, make_ade20k, write_config
from mmengine.config import Config

import mmseg_psp_ext  # noqa: F401  (lets torch.load below read MMEngine checkpoints)

TIMEOUT = 240  # seconds, per launch: a hang fails the test instead of blocking CI
RECORD = DETERMINISTIC + """
custom_imports = dict(imports=['mmseg_psp_ext', 'frameworks_tiny'], allow_failed_imports=False)
custom_hooks = [dict(type='RecordLossHook')]
auto_scale_lr = dict(enable=False, base_batch_size=8)
"""
KILL_WORKER = RECORD.replace(
    "dict(type='RecordLossHook')]",
    "dict(type='RecordLossHook'), dict(type='KillWorkerAfterIterHook', iteration=2)]")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1', **extra)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO), str(REPO / 'tests')] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    srun = tmp_path / 'bin' / 'srun'  # the stand-in, first on the PATH
    if not srun.exists():
        srun.parent.mkdir(exist_ok=True)
        srun.write_text(f'#!/bin/sh\nexec {sys.executable} {REPO / "tests" / "srun_standin.py"}'
                        ' "$@"\n')
        srun.chmod(0o755)
    env['PATH'] = f'{srun.parent}{os.pathsep}{env["PATH"]}'
    return env


def _python_processes(session: int) -> List[int]:
    """Python processes in a process session (the launch, torchrun and its workers)."""
    pids = []
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text().rsplit(')', 1)[1].split()
            if int(fields[3]) == session and b'python' in (stat.parent / 'cmdline').read_bytes():
                pids.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return pids


def _launch(launches: List[tuple], tmp_path: Path, ok: bool = True) -> List[str]:
    """Starts ``(args, env, log name)`` launches at once (nodes of one job); their logs.

    A launch still running after ``TIMEOUT`` fails the test with the output of every
    launch and the Python stack of every process in them (faulthandler on SIGABRT), so a
    hang says where each node was.
    """
    procs = [(subprocess.Popen(args, cwd=REPO, env=dict(env, PYTHONFAULTHANDLER='1'),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True), tmp_path / name)
             for args, env, name in launches]
    logs = []
    for proc, log in procs:
        try:
            out, _ = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for other, _ in procs:
                for pid in _python_processes(other.pid):
                    try:
                        os.kill(pid, signal.SIGABRT)
                    except ProcessLookupError:
                        pass
            time.sleep(3)  # the stacks reach the pipes
            report = []
            for other, other_log in procs:
                try:
                    os.killpg(other.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                text = other.communicate()[0]
                other_log.write_text(text)
                report.append(f'==== {other_log.name} (exit status {other.returncode}) ====\n'
                              f'{text[-6000:]}')
            pytest.fail(f'a launch ran past {TIMEOUT} s; every launch\'s output and stacks:\n'
                        + '\n'.join(report), pytrace=False)
        log.write_text(out)
        if ok:
            assert proc.returncode == 0, f'{log} failed:\n{out[-3000:]}'
        logs.append(out)
    return logs


def _two_nodes(args: List[str], tmp_path: Path, name: str, **env: str) -> List[str]:
    """``args`` (a dist_*.sh command) as node 0 and node 1 of a 2-node job."""
    port = str(_free_port())
    return _launch([(args, _env(tmp_path, NNODES='2', NODE_RANK=str(rank), PORT=port,
                                MASTER_ADDR='127.0.0.1', **env), f'{name}_node{rank}.log')
                    for rank in (0, 1)], tmp_path)


def _assert_same_training(work: Path, reference: Path, ranks: int) -> None:
    """Losses (mean over ranks) and final weights equal to the one-process reference."""
    single = json.loads((reference / 'losses_rank0.json').read_text())
    losses = [json.loads((work / f'losses_rank{r}.json').read_text()) for r in range(ranks)]
    # After a restart a rank records the iterations since the checkpoint it resumed from.
    offset = len(single) - len(losses[0])
    assert all(len(r) == len(losses[0]) for r in losses) and offset in (0, 2)
    for i, expected in enumerate(single[offset:]):
        for term in ('loss', 'decode.loss_ce', 'aux.loss_ce'):
            mean = sum(r[i][term] for r in losses) / ranks
            assert mean == pytest.approx(expected[term], rel=1e-5, abs=1e-6), (work, i, term)
    ref = torch.load(checkpoint_path(reference, 4), map_location='cpu')
    got = torch.load(checkpoint_path(work, 4), map_location='cpu')
    assert got['meta']['iter'] == ref['meta']['iter'] == 4
    for key, value in ref['state_dict'].items():
        torch.testing.assert_close(got['state_dict'][key], value, rtol=1e-4, atol=1e-6,
                                   msg=f'{work}: {key}')


@pytest.mark.slow
def test_two_nodes_slurm_and_a_restarted_worker_train_as_one_process(tmp_path):
    """One process x 2 images == 2 nodes x 1 (torchrun) == 2 Slurm tasks on 2 nodes ==
    2 processes x 1 whose rank 1 is SIGKILLed after the iteration-2 checkpoint and
    restarted by torchrun (MAX_RESTARTS=1). All with --auto-scale-lr (base batch 8)."""
    data = make_ade20k(tmp_path / 'ade', num_train=4, num_val=1)
    two = write_config(tmp_path / 'two.py', data, max_iters=4, interval=2, batch_size=2,
                       norm='GN', backend='gloo', extra=RECORD)
    one = write_config(tmp_path / 'one.py', data, max_iters=4, interval=2, batch_size=1,
                       norm='GN', backend='gloo', extra=RECORD)
    kill = write_config(tmp_path / 'kill.py', data, max_iters=4, interval=2, batch_size=1,
                        norm='GN', backend='gloo', extra=KILL_WORKER)
    w = {name: tmp_path / name for name in ('single', 'nodes', 'slurm', 'elastic')}

    (log, ) = _launch([([sys.executable, 'tools/train.py', str(two), '--work-dir',
                         str(w['single']), '--auto-scale-lr'], _env(tmp_path), 'single.log')],
                      tmp_path)
    assert ("--auto-scale-lr: the config's lr is for a global batch of 8 "
            '(auto_scale_lr.base_batch_size); this run has 2 (1 process(es) x 2 image(s)): '
            'lr 0.01 -> 0.0025 (x0.25)') in log
    assert 'Iter(train) [1/4]  lr: 2.5000e-03' in log  # the rate the runner really used

    logs = _two_nodes(['bash', 'tools/dist_train.sh', str(one), '1', '--work-dir',
                       str(w['nodes']), '--auto-scale-lr'], tmp_path, 'nodes')
    assert 'this run has 2 (2 process(es) x 1 image(s)): lr 0.01 -> 0.0025' in logs[0] + logs[1]
    assert all('local rank 0 on' in log for log in logs)  # one process per node
    _assert_same_training(w['nodes'], w['single'], 2)

    (log, ) = _launch([(['bash', 'tools/slurm_train.sh', 'debug', 'tiny', str(one),
                         '--work-dir', str(w['slurm']), '--auto-scale-lr'],
                        _env(tmp_path, GPUS='2', GPUS_PER_NODE='1', CPUS_PER_TASK='1',
                             PORT=str(_free_port())), 'slurm.log')], tmp_path)
    # SLURM_PROCID 1 is SLURM_LOCALID 0 on the second node: its device is local rank 0.
    assert 'slurm launch: rank 1 of 2, local rank 0' in log
    assert 'slurm launch: rank 0 of 2, local rank 0' in log
    _assert_same_training(w['slurm'], w['single'], 2)

    (log, ) = _launch([(['bash', 'tools/dist_train.sh', str(kill), '2', '--work-dir',
                         str(w['elastic']), '--auto-scale-lr'],
                        _env(tmp_path, MAX_RESTARTS='1', PORT=str(_free_port())),
                        'elastic.log')], tmp_path)
    assert 'exitcode: -9' in log  # the SIGKILLed worker
    assert 'torchrun restart 1: resuming from the newest loadable checkpoint' in log
    assert 'resumed epoch: 0, iter: 2' in log and 'Iter(train) [3/4]' in log
    _assert_same_training(w['elastic'], w['single'], 2)


def _metrics(work: Path) -> dict:
    (found, ) = work.glob('*/*.json')  # tools/test.py: work_dir/<timestamp>/<timestamp>.json
    return {k: v for k, v in json.loads(found.read_text()).items() if k in ('aAcc', 'mIoU', 'mAcc')}


# One process for the three one-process references (one import of the frameworks).
_TEST_SEVERAL = """
import json, runpy, sys, time
for argv in json.loads(sys.argv[1]):
    sys.argv = argv
    runpy.run_path('tools/test.py', run_name='__main__')
    time.sleep(1)  # a new runner timestamp (work dir subfolder) per run
"""


@pytest.mark.slow
def test_two_nodes_and_slurm_test_as_one_process_whole_slide_and_authors(tmp_path):
    """tools/dist_test.sh on 2 nodes (whole, authors' protocol) and slurm_test.sh on 2
    tasks (slide): the metrics and every predicted label map equal one process's."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmseg_psp_ext.utils.random_weights import randomise_weights

    data = make_ade20k(tmp_path / 'ade', num_train=1, num_val=4)
    config = write_config(tmp_path / 'tiny.py', data, norm='GN', backend='gloo')
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(str(config)).model)
    randomise_weights(model)  # untrained but varied predictions
    ckpt = str(tmp_path / 'random.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    modes = {
        'whole': [],
        'slide': ['--cfg-options', "model.test_cfg.mode=slide",
                  'model.test_cfg.crop_size=(32,32)', 'model.test_cfg.stride=(22,22)'],
        'authors': ['--cfg-options', 'model.type=PSPEncoderDecoder',
                    'model.test_cfg.mode=authors', 'model.test_cfg.crop_size=(32,32)',
                    'model.test_cfg.stride=(22,22)', 'model.test_cfg.base_size=48'],
    }

    def tail(mode: str, how: str) -> List[str]:
        work = tmp_path / f'{mode}_{how}'
        return ['--work-dir', str(work), '--out', str(work / 'pred')] + modes[mode]

    singles = [['tools/test.py', str(config), ckpt] + tail(mode, 'single') for mode in modes]
    _launch([([sys.executable, '-c', _TEST_SEVERAL, json.dumps(singles)], _env(tmp_path),
              'single.log')], tmp_path)
    for mode in modes:
        if mode == 'slide':
            (log, ) = _launch([(['bash', 'tools/slurm_test.sh', 'debug', 'tiny', str(config),
                                 ckpt] + tail(mode, 'multi'),
                                _env(tmp_path, GPUS='2', GPUS_PER_NODE='1',
                                     PORT=str(_free_port())), f'{mode}_slurm.log')], tmp_path)
            assert 'slurm launch: rank 1 of 2' in log
        else:
            _two_nodes(['bash', 'tools/dist_test.sh', str(config), ckpt, '1'] + tail(
                mode, 'multi'), tmp_path, mode)
        single, multi = tmp_path / f'{mode}_single', tmp_path / f'{mode}_multi'
        assert _metrics(multi) == _metrics(single), mode
        names = sorted(p.name for p in (single / 'pred').glob('*.png'))
        assert len(names) == 4 and names == sorted(p.name for p in (multi / 'pred').glob('*.png'))
        for name in names:
            expected = cv2.imread(str(single / 'pred' / name), cv2.IMREAD_UNCHANGED)
            assert (cv2.imread(str(multi / 'pred' / name), cv2.IMREAD_UNCHANGED)
                    == expected).all(), (mode, name)
        assert len(np.unique(expected)) > 1, mode  # varied predictions, not one class


def test_launch_settings_are_checked_before_torchrun(tmp_path):
    """NODE_RANK out of range, a port in use, a multi-node run without MASTER_ADDR: a
    clear message at once (exit status 2), before anything starts."""
    config = write_config(tmp_path / 'tiny.py', tmp_path / 'ade')
    env = _env(tmp_path)
    env.pop('MASTER_ADDR', None)

    def launch(**settings: str) -> subprocess.CompletedProcess:
        return subprocess.run(['bash', 'tools/dist_train.sh', str(config), '1'], cwd=REPO,
                              env=dict(env, **settings), capture_output=True, text=True,
                              timeout=60)

    result = launch(NNODES='2', NODE_RANK='2', MASTER_ADDR='127.0.0.1')
    assert result.returncode == 2
    assert 'NODE_RANK=2 is out of range for NNODES=2 (0 to 1)' in result.stderr
    result = launch(NNODES='2', NODE_RANK='1')
    assert result.returncode == 2 and 'set MASTER_ADDR to the address of node 0' in result.stderr
    result = launch(MAX_RESTARTS='-1')
    assert result.returncode == 2 and 'MAX_RESTARTS=-1' in result.stderr
    with socket.socket() as busy:
        busy.bind(('', 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = launch(PORT=str(port))
    assert result.returncode == 2
    assert f'PORT={port} is in use on this machine' in result.stderr
    result = subprocess.run(['bash', 'tools/dist_train.sh', str(tmp_path / 'no.py'), '1'],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and f'config file {tmp_path / "no.py"} does not exist' in (
        result.stderr)


@pytest.mark.slow
def test_a_node_that_never_joins_fails_within_the_rendezvous_timeout(tmp_path):
    """Node 0 of 2 alone, and node 1 of 2 alone: both stop after RDZV_TIMEOUT=3 s with a
    message that names the cause, never a silent hang."""
    config = write_config(tmp_path / 'tiny.py', tmp_path / 'ade')
    launches = [(['bash', 'tools/dist_train.sh', str(config), '1'],
                 _env(tmp_path, NNODES='2', NODE_RANK=str(rank), MASTER_ADDR='127.0.0.1',
                      PORT=str(_free_port()), RDZV_TIMEOUT='3'), f'alone{rank}.log')
                for rank in (0, 1)]
    alone0, alone1 = _launch(launches, tmp_path, ok=False)
    assert 'not all 2 nodes joined within RDZV_TIMEOUT=3s' in alone0
    assert 'node 0 could not be reached at 127.0.0.1' in alone1


@pytest.mark.slow
def test_nodes_started_with_different_configs_stop_with_a_message(tmp_path):
    data = make_ade20k(tmp_path / 'ade', num_train=2, num_val=1)
    config = write_config(tmp_path / 'tiny.py', data, norm='GN', backend='gloo')
    port = str(_free_port())
    launches = [(['bash', 'tools/dist_train.sh', str(config), '1', '--work-dir',
                  str(tmp_path / 'work'), '--cfg-options', f'optim_wrapper.optimizer.lr={lr}'],
                 _env(tmp_path, NNODES='2', NODE_RANK=str(rank), MASTER_ADDR='127.0.0.1',
                      PORT=port), f'node{rank}.log')
                for rank, lr in ((0, 0.01), (1, 0.02))]
    logs = _launch(launches, tmp_path, ok=False)
    for log in logs:
        assert 'the config differs between processes (1 of 2 differ from rank 0)' in log
        assert 'the nodes were started with different configs' in log
    assert not (tmp_path / 'work' / 'iter_2.pth').exists()
