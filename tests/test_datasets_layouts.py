"""Dataset bases on synthetic data in the real directory layouts.

Label conventions through the real base configs (in process), then one training
iteration and one validation through ``mim train mmseg`` for each paper dataset base
with a tiny model (run from a folder holding ``data/...``: the default data roots).
"""
import copy
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmseg_psp_ext  # noqa: F401  (registers the plugin)
from mmseg.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASES = osp.join(REPO, 'configs', '_base_', 'datasets')
H, W = 48, 64


def write(path, array):
    os.makedirs(osp.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, array), path


def image(rng, h=H, w=W):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def labels(rng, values, h=H, w=W):
    return rng.choice(np.asarray(values, dtype=np.uint8), size=(h, w))


def make_ade20k(root, rng):
    """data/ade/ADEChallengeData2016: labels 0 (other) .. 150."""
    base = osp.join(root, 'data', 'ade', 'ADEChallengeData2016')
    for split, n in (('training', 2), ('validation', 1)):
        for i in range(n):
            name = f'ADE_{split[:5]}_{i:08d}'
            write(osp.join(base, 'images', split, name + '.jpg'), image(rng))
            seg = labels(rng, range(0, 151))
            seg[0, :4] = (0, 1, 150, 75)  # the conventions checked below
            write(osp.join(base, 'annotations', split, name + '.png'), seg)
    return base


def make_voc_aug(root, rng):
    """data/VOCdevkit/VOC2012 with SBD's SegmentationClassAug and the split lists."""
    base = osp.join(root, 'data', 'VOCdevkit', 'VOC2012')
    splits = {'train': ['2007_000032'], 'val': ['2007_000033'], 'aug': ['2008_000001']}
    splits['train_aug'] = splits['train'] + splits['aug']
    for split, names in splits.items():
        path = osp.join(base, 'ImageSets', 'Segmentation', split + '.txt')
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(''.join(n + '\n' for n in names))
    for name in splits['train'] + splits['val'] + splits['aug']:
        write(osp.join(base, 'JPEGImages', name + '.jpg'), image(rng))
        seg = labels(rng, list(range(21)) + [255])
        seg[0, :3] = (0, 20, 255)  # background, tvmonitor, object border (void)
        if name not in splits['aug']:
            write(osp.join(base, 'SegmentationClass', name + '.png'), seg)
        if name in splits['train_aug']:
            write(osp.join(base, 'SegmentationClassAug', name + '.png'), seg)
    return base


def make_cityscapes(root, rng, coarse=True):
    """data/cityscapes with trainId maps for gtFine (and gtCoarse train_extra)."""
    base = osp.join(root, 'data', 'cityscapes')
    sets = [('train', 'gtFine', 2), ('val', 'gtFine', 1)]
    if coarse:
        sets.append(('train_extra', 'gtCoarse', 2))
    for split, gt, n in sets:
        for i in range(n):
            stem = f'aachen_{i:06d}_000019'
            write(osp.join(base, 'leftImg8bit', split, 'aachen', stem + '_leftImg8bit.png'),
                  image(rng, H, 2 * H))
            seg = labels(rng, list(range(19)) + [255], H, 2 * H)
            seg[0, :3] = (0, 18, 255)
            write(osp.join(base, gt, split, 'aachen', f'{stem}_{gt}_labelTrainIds.png'), seg)
    return base


MAKERS = {'ade20k': make_ade20k, 'voc': make_voc_aug, 'cityscapes': make_cityscapes}
# dataset base -> (maker, number of training samples it should list)
DATASET_BASES = {
    'ade20k.py': ('ade20k', 2),
    'paper_ade20k-473x473.py': ('ade20k', 2),
    'pascal_voc12_aug.py': ('voc', 2),
    'paper_voc12aug-473x473.py': ('voc', 2),
    'cityscapes.py': ('cityscapes', 2),
    'cityscapes_769x769.py': ('cityscapes', 2),
    'paper_cityscapes-713x713.py': ('cityscapes', 2),
    'paper_cityscapes-fine-coarse-713x713.py': ('cityscapes', 4),
}


# The generated demo set has its own tests (tests/test_demo_dataset.py).
TESTED_ELSEWHERE = {'context_demo.py'}


def test_every_dataset_base_is_covered():
    assert sorted(DATASET_BASES) == sorted(
        osp.basename(p) for p in glob.glob(osp.join(BASES, '*.py'))
        if osp.basename(p) not in TESTED_ELSEWHERE)


def build_dataset(cfg, root):
    """Builds a dataset config with its (relative) default data roots under ``root``."""
    cfg = copy.deepcopy(cfg)
    for dataset in cfg.get('datasets', [cfg]):
        dataset['data_root'] = osp.join(str(root), dataset['data_root'])
    init_default_scope('mmseg')
    return DATASETS.build(cfg)


@pytest.mark.parametrize('base', sorted(DATASET_BASES))
def test_dataset_base_lists_and_loads_samples(base, tmp_path):
    kind, n_train = DATASET_BASES[base]
    MAKERS[kind](str(tmp_path), np.random.default_rng(0))
    cfg = Config.fromfile(osp.join(BASES, base))
    train = build_dataset(cfg.train_dataloader.dataset, tmp_path)
    assert len(train) == n_train
    sample = train[0]  # runs the full training pipeline
    crop = cfg.crop_size
    shape = sample['inputs'].shape[1:]
    assert shape[0] <= crop[0] and shape[1] <= crop[1]
    assert sample['data_samples'].gt_sem_seg.data.shape[1:] == shape
    val = build_dataset(cfg.val_dataloader.dataset, tmp_path)
    assert len(val) == 1
    assert val[0]['data_samples'].gt_sem_seg.data.shape[1:] in ((H, W), (H, 2 * H))


def val_labels(base, root):
    cfg = Config.fromfile(osp.join(BASES, base))
    dataset = build_dataset(cfg.val_dataloader.dataset, root)
    raw = cv2.imread(dataset.get_data_info(0)['seg_map_path'], cv2.IMREAD_UNCHANGED)
    return raw, dataset[0]['data_samples'].gt_sem_seg.data[0].numpy(), dataset


def test_ade20k_reduce_zero_label(tmp_path):
    make_ade20k(str(tmp_path), np.random.default_rng(1))
    for base in ('ade20k.py', 'paper_ade20k-473x473.py'):
        raw, gt, dataset = val_labels(base, tmp_path)
        expected = np.where(raw == 0, 255, raw.astype(np.int64) - 1)  # 0 -> 255, 1..150 -> 0..149
        np.testing.assert_array_equal(gt, expected)
        assert tuple(gt[0, :4]) == (255, 0, 149, 74)
        assert len(dataset.metainfo['classes']) == 150


def test_voc_border_stays_ignored(tmp_path):
    make_voc_aug(str(tmp_path), np.random.default_rng(2))
    for base in ('pascal_voc12_aug.py', 'paper_voc12aug-473x473.py'):
        raw, gt, dataset = val_labels(base, tmp_path)
        np.testing.assert_array_equal(gt, raw)
        assert tuple(gt[0, :3]) == (0, 20, 255)
        assert len(dataset.metainfo['classes']) == 21


def test_cityscapes_train_ids(tmp_path):
    make_cityscapes(str(tmp_path), np.random.default_rng(3))
    for base in ('cityscapes.py', 'paper_cityscapes-713x713.py'):
        raw, gt, dataset = val_labels(base, tmp_path)
        np.testing.assert_array_equal(gt, raw)
        assert tuple(gt[0, :3]) == (0, 18, 255)
        assert set(np.unique(gt)) <= set(range(19)) | {255}
        assert len(dataset.metainfo['classes']) == 19


def test_coarse_set_reads_gtcoarse_maps(tmp_path):
    make_cityscapes(str(tmp_path), np.random.default_rng(4))
    cfg = Config.fromfile(osp.join(BASES, 'paper_cityscapes-fine-coarse-713x713.py'))
    train = build_dataset(cfg.train_dataloader.dataset, tmp_path)
    paths = [train.get_data_info(i)['seg_map_path'] for i in range(len(train))]
    assert sum('/gtFine/train/' in p for p in paths) == 2
    assert sum(p.endswith('_gtCoarse_labelTrainIds.png') for p in paths) == 2


@pytest.mark.parametrize('kind,base,hint', [
    ('ade20k', 'paper_ade20k-473x473.py', 'ADEChallengeData2016'),
    ('voc', 'paper_voc12aug-473x473.py', 'tools/convert_voc_aug.py'),
    ('cityscapes', 'paper_cityscapes-713x713.py', 'tools/convert_cityscapes.py'),
])
def test_missing_data_fails_early_with_hint(kind, base, hint, tmp_path):
    cfg = Config.fromfile(osp.join(BASES, base))
    with pytest.raises(FileNotFoundError, match='missing the') as error:
        build_dataset(cfg.train_dataloader.dataset, tmp_path)
    assert hint in str(error.value)


TINY_CONFIG = """
_base_ = [{base!r}, {runtime!r}, {schedule!r}]
norm_cfg = dict(type='BN', requires_grad=True)
loss = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
        size={crop}),
    backbone=dict(type='DilatedResNet', depth=18, stem_channels=16, base_channels=8,
                  contract_dilation=False, norm_cfg=norm_cfg),
    decode_head=dict(type='PPMHead', in_channels=64, in_index=3, channels=16,
                     pool_scales=(1, 2), num_classes={classes}, norm_cfg=norm_cfg,
                     align_corners=True, loss_decode=loss),
    auxiliary_head=dict(type='FCNAuxHead', in_channels=32, in_index=2, channels=8,
                        num_classes={classes}, norm_cfg=norm_cfg, align_corners=True,
                        loss_decode=dict(loss, loss_weight=0.4)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(loader, batch_size=2)
val_dataloader = dict(loader)
test_dataloader = dict(loader)
train_cfg = dict(max_iters=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
env_cfg = dict(cudnn_benchmark=False)
"""
SCHEDULES = osp.join(REPO, 'configs', '_base_', 'schedules')
TRAIN_RUNS = {
    'paper_ade20k-473x473.py': ('ade20k', 150, 'paper_schedule_150k.py'),
    'paper_voc12aug-473x473.py': ('voc', 21, 'paper_schedule_30k.py'),
    # its fine train set, pipeline and val are the fine base's (also listed in process)
    'paper_cityscapes-fine-coarse-713x713.py': ('cityscapes', 19, 'paper_schedule_90k.py'),
}


@pytest.mark.slow
@pytest.mark.parametrize('base', sorted(TRAIN_RUNS))
def test_mim_train_one_iteration_and_validation(base, tmp_path):
    kind, classes, schedule = TRAIN_RUNS[base]
    MAKERS[kind](str(tmp_path), np.random.default_rng(5))
    crop = Config.fromfile(osp.join(BASES, base)).crop_size
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_CONFIG.format(
        base=osp.join(BASES, base), runtime=osp.join(REPO, 'configs', '_base_',
                                                      'default_runtime.py'),
        schedule=osp.join(SCHEDULES, schedule), crop=tuple(crop), classes=classes))
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    run = subprocess.run([mim, 'train', 'mmseg', str(config), '--work-dir', 'work'],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (tmp_path / 'work' / 'iter_1.pth').is_file()
    [scalars] = glob.glob(str(tmp_path / 'work' / '*' / 'vis_data' / 'scalars.json'))
    records = [json.loads(line) for line in open(scalars)]
    assert any('loss' in r and np.isfinite(r['loss']) for r in records)
    assert any('mIoU' in r for r in records)
