"""tools/test.py --plot-dir: per-class IoU bars and the confusion matrix of a test run."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmseg_psp_ext.visualization.eval_plots import (iou_from_confusion, plot_class_iou,
                                                    plot_confusion_matrix)
from viz_tiny import PSP_CONFIG, REPO, random_checkpoint


def test_iou_from_confusion_matches_the_definition():
    cm = np.array([[5, 1, 0], [2, 3, 0], [0, 0, 0]])
    iou = iou_from_confusion(cm)
    np.testing.assert_allclose(iou[:2], [5 / (5 + 1 + 2), 3 / (3 + 2 + 1)])
    assert np.isnan(iou[2])  # neither in the ground truth nor predicted


def test_plots_are_written_for_small_and_large_class_sets(tmp_path):
    rng = np.random.default_rng(0)
    for num in (3, 150):
        cm = rng.integers(0, 100, (num, num)) + np.diag(rng.integers(100, 1000, num))
        classes = [f'c{i}' for i in range(num)]
        plot_confusion_matrix(cm, classes, str(tmp_path / f'cm{num}.png'))
        plot_class_iou(iou_from_confusion(cm), classes, str(tmp_path / f'iou{num}.png'))
        for name in (f'cm{num}.png', f'iou{num}.png'):
            assert cv2.imread(str(tmp_path / name)) is not None
    with pytest.raises(ValueError, match='does not match 4 classes'):
        plot_confusion_matrix(np.ones((3, 3)), list('abcd'), str(tmp_path / 'x.png'))


def test_metric_accumulates_like_iou_metric(tmp_path):
    import torch
    from mmseg.evaluation import IoUMetric

    from mmseg_psp_ext.evaluation import ConfusionPlotMetric
    rng = np.random.default_rng(1)
    meta = dict(classes=['a', 'b', 'c'], palette=[[0, 0, 0]] * 3)
    ours = ConfusionPlotMetric(out_dir=str(tmp_path / 'plots'))
    reference = IoUMetric(iou_metrics=['mIoU'])
    ours.dataset_meta = reference.dataset_meta = meta
    expected = np.zeros((3, 3), np.int64)
    for _ in range(3):  # three batches of two images
        samples = []
        for _ in range(2):
            gt = rng.integers(0, 3, (8, 9))
            gt[rng.random((8, 9)) < 0.2] = 255
            pred = rng.integers(0, 3, (8, 9))
            np.add.at(expected, (gt[gt != 255], pred[gt != 255]), 1)
            samples.append(dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                                gt_sem_seg=dict(data=torch.from_numpy(gt)[None])))
        ours.process({}, samples)
        reference.process({}, samples)
    assert len(ours.results) == 1  # one running matrix, not one per image
    np.testing.assert_array_equal(ours.results[0], expected)
    assert ours.evaluate(6) == {}
    scores = reference.evaluate(6)
    lines = (tmp_path / 'plots' / 'confusion_matrix.csv').read_text().splitlines()
    cm = np.array([[int(v) for v in line.split(',')[1:]] for line in lines[1:]])
    np.testing.assert_array_equal(cm, expected)
    assert scores['mIoU'] == pytest.approx(100 * np.nanmean(iou_from_confusion(cm)), abs=0.006)


@pytest.mark.slow
def test_test_py_plot_dir_on_a_tiny_set(tmp_path):
    from mmseg_psp_ext.datasets.context_demo import CLASSES, generate_context_demo
    data = str(tmp_path / 'data')
    generate_context_demo(data, 2, 3, size=64, seed=5)
    ckpt = random_checkpoint(str(tmp_path / 'random.pth'))
    plots = tmp_path / 'plots'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (REPO, os.environ.get('PYTHONPATH')) if p), OMP_NUM_THREADS='1')
    cmd = [sys.executable, 'tools/test.py', PSP_CONFIG, ckpt, '--work-dir', str(tmp_path / 'work'),
           '--plot-dir', str(plots), '--cfg-options', f'test_dataloader.dataset.data_root={data}',
           'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    lines = (plots / 'confusion_matrix.csv').read_text().splitlines()
    assert lines[0].split(',')[1:] == [f'"{c}"' for c in CLASSES]
    cm = np.array([[int(v) for v in line.split(',')[1:]] for line in lines[1:]])
    assert cm.shape == (len(CLASSES), len(CLASSES))
    # Every evaluated ground-truth pixel once: label 0 ("other") is ignored (reduce_zero_label).
    gt = [cv2.imread(f, cv2.IMREAD_UNCHANGED) for f in
          glob.glob(osp.join(data, 'annotations', 'validation', '*.png'))]
    assert cm.sum() == sum(int((g > 0).sum()) for g in gt)
    np.testing.assert_array_equal(cm.sum(1), np.bincount(
        np.concatenate([g[g > 0].ravel() - 1 for g in gt]), minlength=len(CLASSES)))
    # The same scores as the IoUMetric of the same run.
    scores = json.load(open(glob.glob(str(tmp_path / 'work' / '*' / '*.json'))[0]))
    assert scores['mIoU'] == pytest.approx(
        round(100 * np.nanmean(iou_from_confusion(cm)), 2), abs=0.006)
    assert scores['aAcc'] == pytest.approx(round(100 * np.trace(cm) / cm.sum(), 2), abs=0.006)
    for name in ('confusion_matrix.png', 'per_class_iou.png'):
        assert cv2.imread(str(plots / name)) is not None, name
