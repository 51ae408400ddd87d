"""A test-time metric that draws the per-class IoU and the confusion matrix of a run."""
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmseg.registry import METRICS


@METRICS.register_module()
class ConfusionPlotMetric(BaseMetric):
    """Accumulates the pixel confusion matrix and writes it as CSV and pictures.

    Reads the same predictions and ground truth as ``IoUMetric`` (``pred_sem_seg`` and
    ``gt_sem_seg`` of each data sample; pixels whose ground truth is ``ignore_index`` or
    outside the classes are left out), so its IoU equals ``IoUMetric``'s. After the run
    ``out_dir`` holds:

    - ``confusion_matrix.csv``: the counts, rows ground truth, columns prediction,
    - ``confusion_matrix.png``: the matrix normalised by ground truth,
    - ``per_class_iou.png``: a bar chart of the per-class IoU with the mIoU.

    It returns no scores (the IoUMetric beside it does). ``tools/test.py --plot-dir DIR``
    adds it to the test evaluator.

    Args:
        out_dir (str): Folder for the files; created if missing.
        ignore_index (int): Ground-truth value left out. Defaults to 255.
        collect_device (str): Device for gathering results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix (unused: no scores are returned).
    """

    def __init__(self, out_dir: str, ignore_index: int = 255, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not out_dir:
            raise ValueError('ConfusionPlotMetric needs an out_dir')
        self.out_dir = out_dir
        self.ignore_index = ignore_index

    def _classes(self) -> Sequence[str]:
        classes = (self.dataset_meta or {}).get('classes')
        if not classes:
            raise ValueError('ConfusionPlotMetric needs dataset_meta["classes"] (set by the '
                             'runner from the test dataset)')
        return classes

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Adds the batch's pixels to this rank's running confusion matrix.

        ``self.results`` holds one (K, K) matrix per rank rather than one per image,
        which for ADE20K's 150 classes and 2000 images would take 360 MB.
        """
        num_classes = len(self._classes())
        if not self.results:
            self.results.append(np.zeros((num_classes, num_classes), np.int64))
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze().to(torch.int64)
            label = sample['gt_sem_seg']['data'].squeeze().to(pred)
            keep = (label != self.ignore_index) & (label >= 0) & (label < num_classes)
            index = label[keep] * num_classes + pred[keep].clamp(0, num_classes - 1)
            counts = torch.bincount(index, minlength=num_classes**2)
            self.results[0] += counts.reshape(num_classes, num_classes).cpu().numpy()

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Sums the matrices and writes the CSV and the two pictures."""
        from mmseg_psp_ext.utils.atomic_io import atomic_write_lines
        from mmseg_psp_ext.visualization.eval_plots import (iou_from_confusion,
                                                            plot_class_iou,
                                                            plot_confusion_matrix)
        classes = [str(c) for c in self._classes()]
        cm = np.sum(results, axis=0, dtype=np.int64)
        os.makedirs(self.out_dir, exist_ok=True)
        header = ','.join(['ground truth \\ prediction'] + [f'"{c}"' for c in classes])
        atomic_write_lines(osp.join(self.out_dir, 'confusion_matrix.csv'),
                           [header] + [f'"{c}",' + ','.join(str(v) for v in row)
                                       for c, row in zip(classes, cm)])
        plot_confusion_matrix(cm, classes, osp.join(self.out_dir, 'confusion_matrix.png'))
        plot_class_iou(iou_from_confusion(cm), classes,
                       osp.join(self.out_dir, 'per_class_iou.png'))
        print_log(f'ConfusionPlotMetric: wrote confusion_matrix.csv, confusion_matrix.png and '
                  f'per_class_iou.png to {self.out_dir}', logger='current')
        return {}
