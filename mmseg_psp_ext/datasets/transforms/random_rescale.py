"""Rescale by a random factor of the image's own size (the paper's "random resize")."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Resize
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Resizes image and label maps by a factor drawn uniformly from ``ratio_range``.

    The paper resizes each image by a random factor in [0.5, 2] of its own size, as the
    authors' PyTorch code (``RandScale``) does. MMSegmentation's ``RandomResize`` instead
    scales a fixed target size (e.g. ``(2048, 512)``) by the factor, which makes every
    image the same size before the factor. Images use bilinear interpolation, label maps
    nearest (through mmcv's ``Resize``).

    Required keys: ``img``, ``gt_seg_map`` (optional). Modified keys: ``img``,
    ``img_shape``, ``gt_seg_map``. Added keys: ``scale_factor``, ``keep_ratio``.

    Args:
        ratio_range (Sequence[float]): ``(min, max)`` of the factor. Default: (0.5, 2.0).
        interpolation (str): Image interpolation. Default: ``'bilinear'``.
    """

    def __init__(self,
                 ratio_range: Sequence[float] = (0.5, 2.0),
                 interpolation: str = 'bilinear') -> None:
        if len(ratio_range) != 2 or not 0 < ratio_range[0] <= ratio_range[1]:
            raise ValueError(f'RandomRescale: ratio_range={ratio_range!r} must be a '
                             '(min, max) pair of positive numbers')
        self.ratio_range = tuple(ratio_range)
        self.interpolation = interpolation

    @cache_randomness
    def _sample_ratio(self) -> float:
        return float(np.random.uniform(*self.ratio_range))

    def transform(self, results: dict) -> dict:
        """Resizes ``results`` by a freshly drawn factor."""
        ratio = self._sample_ratio()
        resize = Resize(scale_factor=ratio, keep_ratio=True,
                        interpolation=self.interpolation)
        return resize(results)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio_range={self.ratio_range})'
