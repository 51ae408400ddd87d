"""The generated context demo set, its dataset class and the demo configs."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
from mmseg.utils import register_all_modules

import mmseg_psp_ext  # noqa: F401  (registers the plugin's modules)
from mmseg_psp_ext.datasets import context_demo
from mmseg_psp_ext.datasets.context_demo import (CLASSES, CONTEXTS, ContextDemoDataset,
                                                 context_label, generate_context_demo,
                                                 object_label, render_scene)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PSP_CFG = osp.join(REPO, 'configs/demo/pspnet_r18_context_demo.py')
FCN_CFG = osp.join(REPO, 'configs/demo/fcn_r18_context_demo.py')


@pytest.fixture(autouse=True)
def _mmseg_scope():
    register_all_modules(init_default_scope=False)
    init_default_scope('mmseg')


def _files(root):
    return sorted(osp.relpath(osp.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_layout_and_determinism(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    assert generate_context_demo(a, 6, 3, size=64, seed=7) == dict(training=6, validation=3)
    generate_context_demo(b, 6, 3, size=64, seed=7)
    generate_context_demo(c, 6, 3, size=64, seed=8)
    files = _files(a)
    for split, count in (('training', 6), ('validation', 3)):
        imgs = [f for f in files if f.startswith(f'images/{split}/') and f.endswith('.jpg')]
        anns = [f for f in files if f.startswith(f'annotations/{split}/') and f.endswith('.png')]
        assert len(imgs) == len(anns) == count
        assert [osp.basename(f)[:-4] for f in imgs] == [osp.basename(f)[:-4] for f in anns]
    assert files == _files(b) == _files(c)
    for f in files:
        with open(osp.join(a, f), 'rb') as fa, open(osp.join(b, f), 'rb') as fb:
            assert fa.read() == fb.read(), f
    ann = 'annotations/training/context_training_00000.png'
    assert not np.array_equal(cv2.imread(osp.join(a, ann), 0), cv2.imread(osp.join(c, ann), 0))
    assert sorted(os.listdir(tmp_path)) == ['a', 'b', 'c']  # no temporary folders left


def test_atomic_write(tmp_path, monkeypatch):
    out = str(tmp_path / 'set')
    generate_context_demo(out, 2, 1, size=32)
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_context_demo(out, 2, 1, size=32)

    calls = []

    def render_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # an interrupted run
        return render_scene(*args, **kwargs)

    monkeypatch.setattr(context_demo, 'render_scene', render_then_fail)
    with pytest.raises(KeyboardInterrupt):
        generate_context_demo(str(tmp_path / 'new'), 4, 2, size=32)
    calls.clear()
    with pytest.raises(KeyboardInterrupt):
        generate_context_demo(out, 4, 2, size=32, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ['set']  # no half set, no temporary folder
    assert len(os.listdir(osp.join(out, 'images', 'training'))) == 2  # old set intact


def test_label_range_and_scene_consistency(tmp_path):
    generate_context_demo(str(tmp_path), 8, 4, size=64, seed=1)
    seen = set()
    for split in ('training', 'validation'):
        ann_dir = tmp_path / 'annotations' / split
        for index, name in enumerate(sorted(os.listdir(ann_dir))):
            label = cv2.imread(str(ann_dir / name), cv2.IMREAD_UNCHANGED)
            assert label.dtype == np.uint8 and label.shape == (64, 64)
            values = set(np.unique(label).tolist())
            assert values <= set(range(len(CLASSES) + 1))
            scene = index % len(CONTEXTS)  # scenes are balanced round robin
            # One scene per image, and objects carry that scene's object class.
            assert values - {0} == {context_label(scene), object_label(scene)}, name
            seen |= values
    assert seen == set(range(len(CLASSES) + 1))  # every class and "other" occur


def test_object_appearance_does_not_depend_on_scene():
    for seed in range(5):
        renders = [render_scene(c, (seed, 0), (seed, 1), size=96) for c in range(4)]
        masks = [np.isin(label, [object_label(c)]) for c, (_, label) in enumerate(renders)]
        for c, (img, label) in enumerate(renders):
            assert masks[c].any()
            # Same object pixels and the same object shape under every scene ...
            np.testing.assert_array_equal(masks[c], masks[0])
            np.testing.assert_array_equal(img[masks[c]], renders[0][0][masks[0]])
            # ... but its class is the scene's object class, and the rest is the scene.
            assert set(np.unique(label[masks[c]])) == {object_label(c)}
            rest = label[~masks[c]]
            assert set(np.unique(rest)) <= {0, context_label(c)}
        # The scenes themselves differ (the only cue to the object's class).
        assert all(not np.array_equal(renders[0][0][~masks[0]], r[0][~masks[0]])
                   for r in renders[1:])


def test_objects_are_large_and_statistics_match_across_classes(tmp_path):
    generate_context_demo(str(tmp_path), 40, 1, size=128, seed=2)
    depth = {c: [] for c in range(4)}
    colour = {c: [] for c in range(4)}
    for index in range(40):
        name = f'context_training_{index:05d}'
        label = cv2.imread(str(tmp_path / 'annotations/training' / f'{name}.png'), 0)
        img = cv2.imread(str(tmp_path / 'images/training' / f'{name}.jpg'))
        scene = index % 4
        mask = (label == object_label(scene)).astype(np.uint8)
        # Distance from the object's deepest pixel to anything else, image border included.
        depth[scene].append(cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 5).max())
        colour[scene].append(img[mask.astype(bool)].mean(axis=0))
    all_depths = np.concatenate([depth[c] for c in range(4)])
    assert np.median(all_depths) >= 20  # object centres are far from their surroundings
    # Object colours are drawn from one distribution: per-class means agree within
    # sampling noise (uniform colours, 10 images per class).
    means = np.array([np.mean(colour[c], axis=0) for c in range(4)])
    assert np.abs(means - means.mean(axis=0)).max() < 45
    assert np.all(means > 60) and np.all(means < 195)


def test_dataset_loads_through_registry_with_demo_pipeline(tmp_path):
    generate_context_demo(str(tmp_path), 4, 2, size=256, seed=3)
    cfg = Config.fromfile(PSP_CFG)
    for loader, split in (('train_dataloader', 'training'), ('val_dataloader', 'validation')):
        ds_cfg = cfg[loader].dataset.copy()
        ds_cfg.data_root = str(tmp_path)
        dataset = DATASETS.build(ds_cfg)
        assert isinstance(dataset, ContextDemoDataset)
        assert dataset.metainfo['classes'] == CLASSES and dataset.reduce_zero_label
        assert len(dataset) == (4 if split == 'training' else 2)
        sample = dataset[0]
        gt = sample['data_samples'].gt_sem_seg.data[0].numpy()
        assert sample['inputs'].shape[1:] == gt.shape
        # Training resizes by 0.75-1.25 then crops to 256 (the model pads smaller ones).
        assert max(gt.shape) <= 256 and min(gt.shape) >= 256 * 3 // 4 - 1
        assert set(np.unique(gt).tolist()) <= set(range(len(CLASSES))) | {255}
        if split == 'validation':  # no augmentation: the PNG minus one, 0 -> 255
            assert gt.shape == (256, 256)
            raw = cv2.imread(str(tmp_path / 'annotations/validation/context_validation_00000.png'),
                             cv2.IMREAD_UNCHANGED).astype(np.int64)
            np.testing.assert_array_equal(gt, np.where(raw == 0, 255, raw - 1))
    with pytest.raises(FileNotFoundError, match='generate_context_demo'):
        DATASETS.build(dict(type='ContextDemoDataset', data_root=str(tmp_path / 'missing'),
                            data_prefix=dict(img_path='images/training',
                                             seg_map_path='annotations/training'),
                            pipeline=[]))


def test_demo_configs_differ_only_in_pyramid_pooling():
    psp, fcn = Config.fromfile(PSP_CFG), Config.fromfile(FCN_CFG)
    assert psp.custom_imports.imports == ['mmseg_psp_ext']
    assert tuple(psp.model.decode_head.pool_scales) == (1, 2, 3, 6)
    assert tuple(fcn.model.decode_head.pool_scales) == ()
    psp_dict, fcn_dict = psp.to_dict(), fcn.to_dict()
    for d in (psp_dict, fcn_dict):
        d['model']['decode_head'].pop('pool_scales')
    assert psp_dict == fcn_dict
    assert psp.model.decode_head.num_classes == len(CLASSES)
    assert psp.train_cfg.val_interval == psp.train_cfg.max_iters  # validates at the end
    assert psp.default_hooks.checkpoint.interval == psp.train_cfg.max_iters

    x = torch.rand(2, 3, 64, 64)
    keys = {}
    for name, cfg in (('psp', psp), ('fcn', fcn)):
        model = MODELS.build(cfg.model).eval()
        assert model.backbone.depth == 18
        with torch.no_grad():
            assert model(x, mode='tensor').shape == (2, len(CLASSES), 8, 8)
        keys[name] = set(model.state_dict())
    assert keys['psp'] - keys['fcn'] and all('psp_modules' in k
                                             for k in keys['psp'] - keys['fcn'])
    assert keys['fcn'] <= keys['psp']


def test_cli(tmp_path):
    out = str(tmp_path / 'cli')
    cmd = [sys.executable, osp.join(REPO, 'tools/generate_context_demo.py'), out,
           '--num-train', '3', '--num-val', '2', '--size', '48', '--seed', '5']
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert len(os.listdir(osp.join(out, 'images', 'training'))) == 3
    assert cv2.imread(osp.join(out, 'images/validation/context_validation_00001.jpg')).shape \
        == (48, 48, 3)
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 1 and 'already exists' in again.stderr


@pytest.mark.slow
def test_demo_config_trains_through_mim(tmp_path):
    data = str(tmp_path / 'data')
    generate_context_demo(data, 8, 2, size=256, seed=4)
    work_dir = str(tmp_path / 'work')
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(p for p in (REPO, os.environ.get('PYTHONPATH'))
                                          if p))
    run = subprocess.run(
        [mim, 'train', 'mmseg', PSP_CFG, '--work-dir', work_dir, '--cfg-options',
         'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
         'default_hooks.checkpoint.interval=3', 'train_dataloader.batch_size=2',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'] +
        [f'{loader}.dataset.data_root={data}'
         for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')],
        env=env, cwd=str(tmp_path), capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert osp.isfile(osp.join(work_dir, 'iter_3.pth'))
    assert 'mIoU' in run.stdout + run.stderr


def test_progress_bar_only_when_asked(tmp_path, capsys):
    generate_context_demo(str(tmp_path / 'quiet'), 2, 1, size=32)
    assert capsys.readouterr().err == ''
    generate_context_demo(str(tmp_path / 'bar'), 2, 1, size=32, progress=True)
    err = capsys.readouterr().err
    assert 'context demo training: 100%' in err and '2/2' in err
    assert 'context demo validation: 100%' in err and '1/1' in err
