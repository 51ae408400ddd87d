"""Slurm's variables, the global batch against the config's, and weights-only loading.

The launches themselves are in test_frameworks_multinode.py; these are the pure parts.
"""
import os

import pytest
import torch
import torch.distributed as torch_dist
from convert_tools import run_tool
from mmengine.config import Config

from mmseg_psp_ext.engine import CheckpointError, check_checkpoint, find_resumable_checkpoint
from mmseg_psp_ext.engine.batch_scaling import configured_batch, plan_batch
from mmseg_psp_ext.engine.distributed import (LaunchError, finish_distributed, first_slurm_host,
                                              slurm_environment)


@pytest.mark.parametrize('nodelist, first', [
    ('node1', 'node1'), ('gpu[07-09,12],cpu3', 'gpu07'), ('a-b[3]', 'a-b3'),
    ('127.0.0.[1-2]', '127.0.0.1'), ('x[001-004]', 'x001')])
def test_first_slurm_host(nodelist, first):
    assert first_slurm_host(nodelist) == first


def test_slurm_environment_uses_the_local_id_for_the_device():
    """Task 5 of 8 on a node of 2 tasks is local rank 1 (SLURM_LOCALID), where
    ``rank % GPUs per node`` would give 5 % 4 = 1 only by luck and 5 % 8 = 5 on a node
    that has 8 GPUs but runs 2 tasks."""
    env = slurm_environment(dict(SLURM_PROCID='5', SLURM_NTASKS='8', SLURM_LOCALID='1',
                                 SLURM_NODELIST='gpu[07-10]', SLURM_NTASKS_PER_NODE='2'))
    assert env == dict(RANK='5', WORLD_SIZE='8', LOCAL_RANK='1', LOCAL_WORLD_SIZE='2',
                       MASTER_ADDR='gpu07', MASTER_PORT='29500')
    env = slurm_environment(dict(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0',
                                 SLURM_NODELIST='n1', MASTER_ADDR='10.0.0.1',
                                 MASTER_PORT='1234'))
    assert env['MASTER_ADDR'] == '10.0.0.1' and env['MASTER_PORT'] == '1234'


@pytest.mark.parametrize('environ, message', [
    (dict(SLURM_NTASKS='2', SLURM_LOCALID='0', SLURM_NODELIST='n'), "SLURM_PROCID=''"),
    (dict(SLURM_PROCID='2', SLURM_NTASKS='2', SLURM_LOCALID='0', SLURM_NODELIST='n'),
     'SLURM_PROCID=2 is out of range for SLURM_NTASKS=2'),
    (dict(SLURM_PROCID='0', SLURM_NTASKS='2', SLURM_LOCALID='0'), 'SLURM_NODELIST'),
    (dict(SLURM_PROCID='0', SLURM_NTASKS='2', SLURM_LOCALID='0', SLURM_NODELIST='[x'),
     "SLURM_NODELIST='[x'"),
])
def test_slurm_environment_names_what_is_wrong(environ, message):
    with pytest.raises(LaunchError, match=message.replace('[', r'\[')):
        slurm_environment(environ)


def _config(tmp_path, name='tiny.py', batch=2, base=None, accumulate=1):
    text = (f'train_dataloader = dict(batch_size={batch})\n'
            f"optim_wrapper = dict(type='OptimWrapper', accumulative_counts={accumulate}, "
            "optimizer=dict(type='SGD', lr=0.01))\n")
    if base:
        text += f'auto_scale_lr = dict(enable=False, base_batch_size={base})\n'
    (tmp_path / name).write_text(text)
    return Config.fromfile(str(tmp_path / name))


def test_a_run_that_cannot_make_the_configured_batch_says_so(tmp_path):
    cfg = _config(tmp_path, batch=2, base=16)
    note = plan_batch(cfg, world_size=4, auto_scale_lr=False)
    assert note.startswith('WARNING: this run cannot make the configured global batch: 8 ')
    assert '4 process(es) x 2 image(s)' in note and 'for 16 (auto_scale_lr.base_batch_size)' in (
        note) and '--auto-scale-lr' in note
    assert plan_batch(cfg, world_size=8, auto_scale_lr=False) == ''  # 8 x 2 = 16
    cfg = _config(tmp_path, batch=2, base=16, accumulate=2)
    assert plan_batch(cfg, world_size=4, auto_scale_lr=False) == ''  # 4 x 2 x 2 = 16
    # The batch of MMSegmentation-style names when the config has no auto_scale_lr.
    cfg = _config(tmp_path, name='pspnet_r50-d8_4xb4-80k_ade20k-512x512.py', batch=4)
    assert configured_batch(cfg) == (16, 'the config name (4xb4)')
    assert 'for 16 (the config name (4xb4))' in plan_batch(cfg, 2, False)
    assert plan_batch(_config(tmp_path, batch=2), 3, False) == ''  # nothing to compare with


def test_auto_scale_lr_turns_on_mmengine_scaling_and_says_the_rate(tmp_path):
    cfg = _config(tmp_path, batch=2, base=16)
    note = plan_batch(cfg, world_size=2, auto_scale_lr=True)
    assert note == ("--auto-scale-lr: the config's lr is for a global batch of 16 "
                    '(auto_scale_lr.base_batch_size); this run has 4 (2 process(es) x 2 '
                    'image(s)): lr 0.01 -> 0.0025 (x0.25)')
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)
    with pytest.raises(ValueError, match='auto_scale_lr.base_batch_size=N'):
        plan_batch(_config(tmp_path, batch=2), 2, True)


class _Payload:
    """Unpickling it would create a folder: the stand-in for code a checkpoint runs."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.makedirs, (self.path, )


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_a_checkpoint_with_a_foreign_global_is_refused_by_name(tmp_path, legacy, monkeypatch):
    marker = tmp_path / 'code_ran'
    work = tmp_path / 'work'
    work.mkdir()
    path = work / 'iter_2.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'x': _Payload(str(marker))}},
               path, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(CheckpointError, match=r'iter_2\.pth: refused: it holds os\.makedirs'):
        check_checkpoint(str(path))
    with pytest.raises(CheckpointError, match=r'refused: it holds os\.makedirs'):
        find_resumable_checkpoint(str(work))  # the resume check: no file to resume from
    with pytest.raises(SystemExit, match=r'publish_model\.py: .*refused: it holds os\.makedirs'):
        run_tool('publish_model.py', path, tmp_path / 'pub', monkeypatch=monkeypatch)
    assert not marker.exists()
    assert not list(tmp_path.glob('pub*'))
    # The same file without the payload loads (legacy format included).
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {'iter': 2}}, path,
               _use_new_zipfile_serialization=not legacy)
    check_checkpoint(str(path))
    assert find_resumable_checkpoint(str(work)) == (str(path), [])



def test_finish_distributed_destroys_the_process_group_and_is_a_no_op_without_one(tmp_path):
    finish_distributed()  # not distributed: nothing to do, no error
    store = torch_dist.FileStore(str(tmp_path / 'store'), 1)
    torch_dist.init_process_group('gloo', store=store, rank=0, world_size=1)
    try:
        finish_distributed()
        assert not torch_dist.is_initialized()
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
