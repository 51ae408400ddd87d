"""mmseg_psp_ext.compat.prepare_cpu_distributed: what it changes, and when it does nothing."""
import copy
from datetime import timedelta

import pytest
import torch
from mmengine.config import Config

from mmseg_psp_ext import compat
from mmseg_psp_ext.compat import prepare_cpu_distributed


def _config(launcher: str) -> Config:
    norm = dict(type='SyncBN', requires_grad=True)
    return Config(dict(
        launcher=launcher,
        env_cfg=dict(dist_cfg=dict(backend='nccl')),
        model=dict(type='EncoderDecoder', backbone=dict(type='DilatedResNet', norm_cfg=norm),
                   decode_head=[dict(type='PPMHead', norm_cfg=copy.deepcopy(norm))])))


def test_nothing_changes_without_a_launcher():
    cfg = _config('none')
    before = copy.deepcopy(cfg.to_dict())
    prepare_cpu_distributed(cfg)
    assert cfg.to_dict() == before


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path runs only without CUDA')
def test_cpu_torchrun_gets_gloo_cpu_ddp_and_bn(monkeypatch):
    import torch.distributed as torch_dist
    started = []
    monkeypatch.setattr(torch_dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(compat, 'init_process_group_from_env',
                        lambda backend, **kwargs: started.append((backend, kwargs)))
    cfg = _config('pytorch')
    cfg.env_cfg.dist_cfg.timeout = 60
    prepare_cpu_distributed(cfg)
    assert started == [('gloo', {'timeout': timedelta(seconds=60)})]
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg['device_ids'] is None
    assert cfg.model_wrapper_cfg['type'] == 'MMDistributedDataParallel'
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    assert cfg.model.decode_head[0].norm_cfg.type == 'BN'
