"""CityscapesIIoUMetric against cityscapesscripts' own evaluation on the same files."""
import copy

import numpy as np
import pytest
import torch
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cs_eval
from cityscapesscripts.helpers.labels import labels, trainId2label
from PIL import Image

import mmseg_psp_ext  # noqa: F401
from mmseg.registry import METRICS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules
from mmengine.structures import PixelData

register_all_modules(init_default_scope=True)
H, W = 24, 40
INSTANCE_CLASSES = [24, 25, 26, 27, 28, 29, 31, 32, 33]  # 29 caravan: has instances, ignored
TRAIN_TO_ID = np.array([trainId2label[k].id for k in range(19)])
ID_TO_TRAIN = np.full(256, 255)
for label in labels:
    if label.id >= 0 and label.trainId not in (255, -1):
        ID_TO_TRAIN[label.id] = label.trainId


def make_sample(rng):
    """Blocky random label ids, instance rectangles pasted on top, a noisy prediction."""
    label_ids = np.kron(rng.randint(0, 34, (H // 4, W // 4)), np.ones((4, 4), int))
    instance_ids = label_ids.copy()
    for k in range(rng.randint(2, 7)):
        label_id = INSTANCE_CLASSES[rng.randint(len(INSTANCE_CLASSES))]
        y, x = rng.randint(0, H - 2), rng.randint(0, W - 2)
        h, w = rng.randint(2, 12), rng.randint(2, 16)
        label_ids[y:y + h, x:x + w] = label_id
        instance_ids[y:y + h, x:x + w] = label_id * 1000 + k
    if rng.rand() < 0.5:  # a crowd region: class with instances but no instance id
        label_ids[:3, :5] = instance_ids[:3, :5] = 26
    train_ids = ID_TO_TRAIN[label_ids]
    pred = np.where(rng.rand(H, W) < 0.6, train_ids, rng.randint(0, 19, (H, W)))
    pred = np.where(pred == 255, rng.randint(0, 19, (H, W)), pred)
    return label_ids, instance_ids, train_ids, pred


@pytest.fixture(scope='module')
def synthetic_set(tmp_path_factory):
    root = tmp_path_factory.mktemp('cityscapes')
    rng = np.random.RandomState(7)
    items = []
    for i in range(4):
        stem = str(root / f'city_{i:06d}_000019')
        label_ids, instance_ids, train_ids, pred = make_sample(rng)
        Image.fromarray(label_ids.astype(np.uint8)).save(stem + '_gtFine_labelIds.png')
        Image.fromarray(instance_ids.astype(np.uint16)).save(stem + '_gtFine_instanceIds.png')
        Image.fromarray(train_ids.astype(np.uint8)).save(stem + '_gtFine_labelTrainIds.png')
        Image.fromarray(TRAIN_TO_ID[pred].astype(np.uint8)).save(stem + '_pred.png')
        items.append((stem, train_ids, pred))
    return items


def official_scores(items, monkeypatch):
    if not hasattr(np, 'in1d'):  # numpy >= 2.4 removed it; cityscapesscripts 2.3.0 uses it
        monkeypatch.setattr(np, 'in1d', lambda a, b, invert=False: np.isin(
            a, b, invert=invert).ravel(), raising=False)
    args = copy.copy(cs_eval.args)
    args.quiet, args.JSONOutput = True, False
    args.evalInstLevelScore, args.evalPixelAccuracy = True, False
    return cs_eval.evaluateImgLists([stem + '_pred.png' for stem, _, _ in items],
                                    [stem + '_gtFine_labelIds.png' for stem, _, _ in items],
                                    args)


def run_metric(items, **kwargs):
    metric = METRICS.build(dict(type='CityscapesIIoUMetric', **kwargs))
    metric.dataset_meta = dict(classes=[trainId2label[k].name for k in range(19)])
    for stem, train_ids, pred in items:
        sample = SegDataSample(metainfo=dict(seg_map_path=stem + '_gtFine_labelTrainIds.png'))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(train_ids)[None])
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
        metric.process({}, [sample.to_dict()])
    return metric


def assert_same(ours: dict, official: dict) -> float:
    """Same scores (NaN where official has NaN); returns the largest difference."""
    largest = 0.
    for name, value in official.items():
        if name not in ours:  # official also lists ignored classes / void, all NaN
            assert np.isnan(value), name
            continue
        if np.isnan(value):
            assert np.isnan(ours[name]), name
        else:
            assert abs(ours[name] - value) < 1e-6, (name, ours[name], value)
            largest = max(largest, abs(ours[name] - value))
    return largest


def test_equals_cityscapesscripts(synthetic_set, monkeypatch):
    official = official_scores(synthetic_set, monkeypatch)
    metric = run_metric(synthetic_set)
    scores = metric.compute_scores(metric.results)
    largest = max(
        assert_same(scores['classes'], official['classScores']),
        assert_same(scores['classes_instance'], official['classInstScores']),
        assert_same(scores['categories'], official['categoryScores']),
        assert_same(scores['categories_instance'], official['categoryInstScores']))
    print(f'per-class/category scores: max |ours - cityscapesscripts| = {largest:.1e}')
    # the set must exercise the instance weighting
    assert sum(not np.isnan(v) for v in official['classInstScores'].values()) >= 4
    assert official['averageScoreInstClasses'] != pytest.approx(
        official['averageScoreClasses'], abs=1e-3)

    means = metric.compute_metrics(metric.results)
    deltas = {
        'IoU_class': means['IoU_class'] / 100 - official['averageScoreClasses'],
        'iIoU_class': means['iIoU_class'] / 100 - official['averageScoreInstClasses'],
        'IoU_category': means['IoU_category'] / 100 - official['averageScoreCategories'],
        'iIoU_category': means['iIoU_category'] / 100 - official['averageScoreInstCategories'],
    }
    print({k: f'{abs(v):.1e}' for k, v in deltas.items()})
    assert all(abs(v) < 1e-6 for v in deltas.values()), deltas


def test_dataset_average_sizes_differ_from_official(synthetic_set):
    metric = run_metric(synthetic_set, avg_instance_size='dataset')
    ours = metric.compute_metrics(metric.results)
    reference = run_metric(synthetic_set)
    reference = reference.compute_metrics(reference.results)
    assert ours['IoU_class'] == reference['IoU_class']
    assert ours['iIoU_class'] != pytest.approx(reference['iIoU_class'], abs=1e-6)


def test_missing_instance_file_is_named(synthetic_set, tmp_path):
    stem, train_ids, pred = synthetic_set[0]
    lonely = str(tmp_path / 'lonely_000000_000019')
    Image.fromarray(train_ids.astype(np.uint8)).save(lonely + '_gtFine_labelTrainIds.png')
    with pytest.raises(FileNotFoundError, match='lonely_000000_000019_gtFine_instanceIds.png'):
        run_metric([(lonely, train_ids, pred)])


def test_runner_test_with_authors_mode_and_both_metrics(tmp_path):
    """Runner.test(): Cityscapes layout, PSPEncoderDecoder in authors mode, both metrics."""
    from mmengine.runner import Runner

    from test_eval_authors_protocol import tiny_model_cfg

    rng = np.random.RandomState(3)
    for i in range(2):
        name = f'ulm_{i:06d}_000019'
        img_dir, gt_dir = tmp_path / 'leftImg8bit/val/ulm', tmp_path / 'gtFine/val/ulm'
        img_dir.mkdir(parents=True, exist_ok=True)
        gt_dir.mkdir(parents=True, exist_ok=True)
        label_ids, instance_ids, train_ids, _ = make_sample(rng)
        Image.fromarray(rng.randint(0, 255, (H, W, 3), np.uint8)).save(
            img_dir / f'{name}_leftImg8bit.png')
        Image.fromarray(train_ids.astype(np.uint8)).save(
            gt_dir / f'{name}_gtFine_labelTrainIds.png')
        Image.fromarray(instance_ids.astype(np.uint16)).save(
            gt_dir / f'{name}_gtFine_instanceIds.png')
    model = tiny_model_cfg(dict(mode='authors', crop_size=(33, 33), base_size=48,
                                scales=(0.75, 1.0)))
    model['decode_head']['num_classes'] = 19
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
    runner = Runner(
        model=model, work_dir=str(tmp_path / 'work'), default_scope='mmseg',
        test_dataloader=dict(
            batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='CityscapesDataset', data_root=str(tmp_path),
                         data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
                         pipeline=pipeline)),
        test_evaluator=[dict(type='IoUMetric', iou_metrics=['mIoU']),
                        dict(type='CityscapesIIoUMetric')],
        test_cfg=dict(type='TestLoop'))
    metrics = runner.test()
    for key in ('mIoU', 'aAcc', 'IoU_class', 'iIoU_class', 'IoU_category', 'iIoU_category'):
        assert key in metrics and np.isfinite(metrics[key]), (key, metrics)
    # same classes, same pixels: mmseg's mIoU (2 decimals) and ours agree
    assert abs(metrics['mIoU'] - metrics['IoU_class']) < 0.01
