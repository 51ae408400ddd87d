"""Cityscapes benchmark scores: IoU and instance-weighted iIoU, per class and per category."""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from PIL import Image
from prettytable import PrettyTable

from mmseg.registry import METRICS

try:  # a runtime requirement; guarded so that the rest of the plugin imports without it
    from cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling import \
        args as cs_eval_args
    from cityscapesscripts.helpers.labels import category2labels, id2label, labels
except ImportError:
    cs_eval_args, category2labels, id2label, labels = None, {}, {}, []

# The 19 evaluated classes, in trainId order, and their label ids in the official scripts.
EVAL_LABELS = sorted((label for label in labels if not label.ignoreInEval),
                     key=lambda label: label.trainId)
NUM_CLASSES = len(EVAL_LABELS)
# Categories with at least one evaluated class (void has none), as trainId lists.
CATEGORY_TRAIN_IDS = OrderedDict(
    (category, [label.trainId for label in members if not label.ignoreInEval])
    for category, members in category2labels.items()
    if any(not label.ignoreInEval for label in members))
# Categories whose every labelled class has instances: the ones with an iIoU (human, vehicle).
INSTANCE_CATEGORIES = [
    category for category in CATEGORY_TRAIN_IDS
    if all(label.hasInstances for label in category2labels[category] if label.id >= 0)]
INSTANCE_LABELS = [label for label in EVAL_LABELS if label.hasInstances]


@METRICS.register_module()
class CityscapesIIoUMetric(BaseMetric):
    """IoU / iIoU per class and per category, as the Cityscapes benchmark reports them.

    Reproduces ``cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling`` (the
    numbers of the official leaderboard and of the PSPNet paper's Table 7) in memory, from
    predictions and ground truth in trainIds (0..18, 255 ignored):

    - IoU = TP / (TP + FP + FN) over the whole set, false positives counted only on
      pixels whose ground truth is evaluated; class and category scores are the mean over
      the classes / categories with a defined score.
    - iIoU = iTP / (iTP + FP + iFN) for the 8 classes with instances (person, rider, car,
      truck, bus, train, motorcycle, bicycle) and the 2 categories made of them (human,
      vehicle). Each ground-truth instance (``*_gtFine_instanceIds.png`` id > 1000)
      contributes its true-positive and false-negative pixels weighted by
      ``average instance size of its class / its size``, so that small objects count as
      much as large ones. FP stays unweighted. The average sizes are the official
      constants of cityscapesscripts (``avg_instance_size='official'``) or the means over
      the evaluated set (``'dataset'``).

    The instance ids are read from the file next to the label map: ``seg_map_path`` with
    ``seg_map_suffix`` replaced by ``instance_suffix``.

    Args:
        ignore_index (int): Ground-truth value that is not evaluated. Defaults to 255.
        seg_map_suffix (str): Suffix of the label maps. Defaults to
            '_gtFine_labelTrainIds.png'.
        instance_suffix (str): Suffix of the instance-id maps. Defaults to
            '_gtFine_instanceIds.png'.
        avg_instance_size (str | dict): 'official', 'dataset', or a dict class name ->
            average size in pixels. Defaults to 'official'.
        collect_device (str): 'cpu' or 'gpu', for collecting results across ranks.
        prefix (str, optional): Prefix of the metric names.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 ignore_index: int = 255,
                 seg_map_suffix: str = '_gtFine_labelTrainIds.png',
                 instance_suffix: str = '_gtFine_instanceIds.png',
                 avg_instance_size: Union[str, Dict[str, float]] = 'official',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if cs_eval_args is None:
            raise ImportError('CityscapesIIoUMetric needs cityscapesscripts: '
                              'pip install cityscapesscripts==2.3.0')
        if isinstance(avg_instance_size, str) and avg_instance_size not in ('official',
                                                                             'dataset'):
            raise ValueError("avg_instance_size must be 'official', 'dataset' or a dict, "
                             f'got {avg_instance_size!r}')
        self.ignore_index = ignore_index
        self.seg_map_suffix = seg_map_suffix
        self.instance_suffix = instance_suffix
        self.avg_instance_size = avg_instance_size

    def instance_path(self, seg_map_path: str) -> str:
        """Path of the instance-id map that belongs to a label map."""
        if not seg_map_path.endswith(self.seg_map_suffix):
            raise ValueError(f'CityscapesIIoUMetric: label map {seg_map_path} does not end '
                             f'with seg_map_suffix={self.seg_map_suffix!r}; cannot find its '
                             'instance ids')
        return seg_map_path[:-len(self.seg_map_suffix)] + self.instance_suffix

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Accumulates one batch: a confusion matrix and per-instance pixel counts."""
        for data_sample in data_samples:
            pred = data_sample['pred_sem_seg']['data'].squeeze(0).cpu().numpy().astype(np.int64)
            gt = data_sample['gt_sem_seg']['data'].squeeze(0).cpu().numpy().astype(np.int64)
            path = self.instance_path(data_sample['seg_map_path'])
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'CityscapesIIoUMetric: missing instance ids {path} (needed for iIoU); '
                    'tools/convert_cityscapes.py keeps them next to the labelTrainIds')
            instances = np.array(Image.open(path)).astype(np.int64)
            if not pred.shape == gt.shape == instances.shape:
                raise ValueError(
                    f'CityscapesIIoUMetric: sizes differ for {path}: prediction {pred.shape}, '
                    f'ground truth {gt.shape}, instance ids {instances.shape}')
            if pred.min() < 0 or pred.max() >= NUM_CLASSES:
                raise ValueError(f'CityscapesIIoUMetric: prediction for {path} has values '
                                 f'outside 0..{NUM_CLASSES - 1}')
            valid = gt != self.ignore_index
            confusion = np.bincount(gt[valid] * NUM_CLASSES + pred[valid],
                                    minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)
            self.results.append(dict(confusion=confusion,
                                     instances=self._instance_counts(pred, instances)))

    @staticmethod
    def _instance_counts(pred: np.ndarray, instances: np.ndarray) -> np.ndarray:
        """Rows (label id, size, class TP, category TP) for every evaluated instance."""
        rows = []
        for instance_id in np.unique(instances[instances > 1000]):
            label = id2label[int(instance_id) // 1000]
            if label.ignoreInEval:
                continue
            mask = instances == instance_id
            hits = pred[mask]
            category_ids = CATEGORY_TRAIN_IDS.get(label.category, [])
            rows.append((label.id, mask.sum(), (hits == label.trainId).sum(),
                         np.isin(hits, category_ids).sum()))
        return np.array(rows, dtype=np.int64).reshape(-1, 4)

    def _average_sizes(self, instances: np.ndarray) -> Dict[str, float]:
        if isinstance(self.avg_instance_size, dict):
            return dict(self.avg_instance_size)
        if self.avg_instance_size == 'official':
            return dict(cs_eval_args.avgClassSize)
        sizes = {}
        for label in INSTANCE_LABELS:
            mine = instances[instances[:, 0] == label.id, 1]
            sizes[label.name] = float(mine.mean()) if len(mine) else float('nan')
        return sizes

    def compute_scores(self, results: List[dict]) -> Dict[str, Dict[str, float]]:
        """Scores in [0, 1] (NaN where undefined): per class, per category, and means.

        Returns:
            dict: ``classes`` and ``classes_instance`` (class name -> IoU / iIoU),
            ``categories`` and ``categories_instance`` (category -> IoU / iIoU).
        """
        confusion = sum(result['confusion'] for result in results)
        instances = np.concatenate([result['instances'] for result in results])
        average_size = self._average_sizes(instances)

        def iou(tp, fp, fn):
            denominator = tp + fp + fn
            return float(tp / denominator) if denominator > 0 else float('nan')

        def weighted(rows, column):
            weights = np.array([average_size[id2label[int(i)].name] for i in rows[:, 0]],
                               dtype=np.float64) / rows[:, 1]
            return float((rows[:, column] * weights).sum()), float(
                ((rows[:, 1] - rows[:, column]) * weights).sum())

        scores = dict(classes={}, classes_instance={}, categories={}, categories_instance={})
        for label in EVAL_LABELS:
            k = label.trainId
            tp = confusion[k, k]
            fp = confusion[:, k].sum() - tp
            scores['classes'][label.name] = iou(tp, fp, confusion[k].sum() - tp)
            if label.hasInstances:
                tp_w, fn_w = weighted(instances[instances[:, 0] == label.id], 2)
                scores['classes_instance'][label.name] = iou(tp_w, fp, fn_w)
        for category, ids in CATEGORY_TRAIN_IDS.items():
            others = [k for k in range(NUM_CLASSES) if k not in ids]
            tp = confusion[np.ix_(ids, ids)].sum()
            fp = confusion[np.ix_(others, ids)].sum()
            scores['categories'][category] = iou(tp, fp, confusion[ids].sum() - tp)
            if category in INSTANCE_CATEGORIES:
                members = [label.id for label in INSTANCE_LABELS if label.category == category]
                tp_w, fn_w = weighted(instances[np.isin(instances[:, 0], members)], 3)
                scores['categories_instance'][category] = iou(tp_w, fp, fn_w)
        return scores

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Means in percent: IoU_class, iIoU_class, IoU_category, iIoU_category."""
        scores = self.compute_scores(results)
        table = PrettyTable(field_names=['Class', 'IoU', 'iIoU'])
        for name, value in scores['classes'].items():
            table.add_row([name, f'{value * 100:.2f}',
                           f"{scores['classes_instance'].get(name, float('nan')) * 100:.2f}"])
        for name, value in scores['categories'].items():
            table.add_row([f'[{name}]', f'{value * 100:.2f}',
                           f"{scores['categories_instance'].get(name, float('nan')) * 100:.2f}"])
        print_log('Cityscapes per-class and [per-category] results:\n' + table.get_string(),
                  logger=MMLogger.get_current_instance())

        def mean(values):
            values = [v for v in values.values() if not np.isnan(v)]
            return float(np.mean(values)) * 100 if values else float('nan')

        return OrderedDict(
            IoU_class=mean(scores['classes']),
            iIoU_class=mean(scores['classes_instance']),
            IoU_category=mean(scores['categories']),
            iIoU_category=mean(scores['categories_instance']))
