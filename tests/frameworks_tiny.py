"""A tiny ADE20K-layout dataset and a tiny PSPNet config for runner and launcher tests.

Not a test module (no ``test_`` prefix): the framework tests import it. Everything is small
enough for a few CPU iterations in seconds: 48x48 images, 40x40 crops, a depth-18 dilated
ResNet with 8 base channels.
"""
import json
import os
import os.path as osp
import signal
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from mmengine.dist import barrier, get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

REPO = Path(__file__).resolve().parents[1]


def make_ade20k(root: Path, num_train: int = 4, num_val: int = 2, size: int = 48,
                seed: int = 0) -> Path:
    """Writes random images and label maps in the ADEChallengeData2016 layout.

    Labels are 0..150 as in ADE20K (0 = "other", ignored with ``reduce_zero_label``); each
    image is painted with a darker/brighter patch per label so the task is learnable.
    """
    rng = np.random.default_rng(seed)
    for split, count in (('training', num_train), ('validation', num_val)):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
        (root / 'annotations' / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            labels = np.zeros((size, size), np.uint8)
            for _ in range(4):
                y, x = rng.integers(0, size - 8, 2)
                h, w = rng.integers(8, size // 2, 2)
                labels[y:y + h, x:x + w] = rng.integers(1, 151)
            image = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            image += (labels[..., None] * np.array([1, 0.5, 0.25])).astype(np.uint8)
            name = f'ADE_{split[:5]}_{i:08d}'
            cv2.imwrite(str(root / 'images' / split / f'{name}.jpg'), image)
            cv2.imwrite(str(root / 'annotations' / split / f'{name}.png'), labels)
    return root


def write_config(path: Path, data_root: Path, max_iters: int = 4, interval: int = 2,
                 batch_size: int = 2, norm: str = 'BN', backend: Optional[str] = None,
                 extra: str = '') -> Path:
    """Writes a tiny PSPNet config that inherits the plugin's own runtime and ADE20K bases.

    ``extra`` is appended to the config (more settings, as Python source).
    """
    dist = f"\nenv_cfg = dict(dist_cfg=dict(backend='{backend}'))" if backend else ''
    groups = ', num_groups=4' if norm == 'GN' else ''
    base = REPO / 'configs' / '_base_'
    path.write_text(f'''\
_base_ = [{str(base / 'default_runtime.py')!r}, {str(base / 'datasets' / 'ade20k.py')!r}]
data_root = {str(data_root)!r}
crop_size = (40, 40)
norm_cfg = dict(type={norm!r}{groups}, requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='DilatedResNet', depth=18, stem_channels=16, base_channels=8,
        out_indices=(0, 1, 2, 3), norm_cfg=norm_cfg),
    decode_head=dict(
        type='PPMHead', in_channels=64, in_index=3, channels=16, pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNAuxHead', in_channels=32, in_index=2, channels=8, num_convs=1,
        dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(48, 48), ratio_range=(0.9, 1.1), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(48, 48), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in (0.75, 1.0)],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations', reduce_zero_label=True)],
        [dict(type='PackSegInputs')]]),
]
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end={max_iters}, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters={max_iters}, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='MetricsFileLoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval={interval}),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0){dist}
{extra}''')
    return path


def checkpoint_path(work_dir: Path, iteration: int) -> Path:
    """Where the checkpoint hook writes the checkpoint of an iteration."""
    return Path(osp.join(work_dir, f'iter_{iteration}.pth'))

#: ``write_config(extra=...)`` for runs that must be reproducible across a resume or a
#: different number of processes: no random augmentation and no dropout. MMEngine restores
#: weights, optimizer, scheduler and the data order on resume, but not the random number
#: generators (and onedl-mmengine skips the trained batches without loading them), so
#: random crops, flips and dropout masks after a resume differ from an uninterrupted run.
DETERMINISTIC = """
train_dataloader['dataset']['pipeline'] = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs'),
]
model['decode_head']['dropout_ratio'] = 0.0
model['auxiliary_head']['dropout_ratio'] = 0.0
"""


@HOOKS.register_module(force=True)
class RecordLossHook(Hook):
    """Writes this process's loss terms of every iteration to ``work_dir/losses_rank{R}.json``.

    Tests load it with ``custom_imports=dict(imports=['frameworks_tiny'])`` (``tests/`` on
    ``PYTHONPATH``).
    """

    def __init__(self) -> None:
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.losses.append({k: float(v) for k, v in outputs.items() if 'loss' in k})
        with open(osp.join(runner.work_dir, f'losses_rank{get_rank()}.json'), 'w') as f:
            json.dump(self.losses, f)


class SimulatedCrash(Exception):
    """Raised by :class:`CrashAfterIterHook`."""


@HOOKS.register_module(force=True)
class CrashAfterIterHook(Hook):
    """Dies after iteration ``iteration`` (after its checkpoint is saved), like a killed run."""

    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            raise SimulatedCrash(f'simulated crash after iteration {self.iteration}')


@HOOKS.register_module(force=True)
class KillWorkerAfterIterHook(Hook):
    """SIGKILLs the process of rank ``rank`` after iteration ``iteration``, in the first
    attempt of a torchrun run only (``TORCHELASTIC_RESTART_COUNT`` 0), like a lost worker.

    All ranks first wait at a barrier, so the checkpoint of that iteration is complete.
    """

    priority = 'LOWEST'  # after CheckpointHook

    def __init__(self, iteration: int, rank: int = 1) -> None:
        self.iteration = iteration
        self.rank = rank

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if (runner.iter + 1 != self.iteration
                or os.environ.get('TORCHELASTIC_RESTART_COUNT', '0') != '0'):
            return
        barrier()
        if get_rank() == self.rank:
            os.kill(os.getpid(), signal.SIGKILL)
