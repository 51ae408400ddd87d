"""Checks every loaded image/label pair, so that bad data stops a run naming its file."""
from typing import Optional

from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ..sample_check import (DataSampleError, channels_message, jpeg_is_truncated,
                            size_message, truncated_jpeg_message, values_message)


@TRANSFORMS.register_module()
class CheckSegSample(BaseTransform):
    """Raises ``DataSampleError`` naming the file when a loaded sample is unusable.

    Goes right after ``LoadAnnotations`` (train, val and test pipelines). Checks that
    the image is not a truncated JPEG, that the label map has one channel, the size of
    the image (``ori_shape``, so a ``Resize`` before ``LoadAnnotations`` is fine), and
    that every label value, after ``reduce_zero_label`` and ``label_map``, is a class
    (``< num_classes``) or the ignore index. Costs two byte-wise comparisons over the
    label and a 64 KiB read of a JPEG's tail (about 1% of loading the pair or less;
    ``tools/benchmark_data_check.py``).

    ``num_classes`` and ``ignore_index`` come from the results, where the plugin's
    datasets put them (their ``metainfo`` classes and ``ignore_index``); the arguments
    serve other datasets. Without either, the label range is not checked.

    Required keys: ``img_path``, ``ori_shape``; optional: ``seg_map_path``,
    ``gt_seg_map``, ``num_classes``, ``ignore_index``, ``reduce_zero_label``,
    ``label_map``. Modifies nothing.

    Args:
        num_classes (int, optional): Number of classes when the dataset does not say.
        ignore_index (int): Ignore index when the dataset does not say. Default: 255.
    """

    def __init__(self, num_classes: Optional[int] = None, ignore_index: int = 255) -> None:
        if num_classes is not None and not 0 < num_classes <= 256:
            raise ValueError(f'CheckSegSample: num_classes={num_classes} must be in 1..256')
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        img_path = results['img_path']  # None for an in-memory image (mmseg.apis, videos)
        if img_path is not None and jpeg_is_truncated(img_path):
            raise DataSampleError(truncated_jpeg_message(img_path), img_path)
        label = results.get('gt_seg_map')
        if label is None:
            return results
        seg_path = results.get('seg_map_path', '<label map>')
        problem = channels_message(seg_path, label) or size_message(
            seg_path, label.shape[:2], img_path, results['ori_shape'][:2])
        num_classes = results.get('num_classes', self.num_classes)
        if problem is None and num_classes is not None:
            problem = values_message(seg_path, label, num_classes,
                                     results.get('ignore_index', self.ignore_index),
                                     bool(results.get('reduce_zero_label')),
                                     results.get('label_map'))
        if problem:
            raise DataSampleError(problem, seg_path)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')
