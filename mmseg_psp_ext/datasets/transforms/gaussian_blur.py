"""Random Gaussian blur of the image, the paper's ADE20K and VOC augmentation."""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Blurs the image with a Gaussian kernel, with probability ``prob``.

    The defaults are those of the authors' PyTorch code (hszhao/semseg,
    ``RandomGaussianBlur``): half of the images are blurred with a 5x5 kernel and
    ``sigma=0``, which lets OpenCV derive sigma from the kernel size
    (``0.3 * ((5 - 1) * 0.5 - 1) + 0.8 = 1.1``). Ranges can be given instead, sampled
    uniformly per image. Only ``img`` changes; label maps are left untouched.

    Required keys: ``img``. Modified keys: ``img``. Added keys: ``gaussian_blur``
    (``None`` when not applied, else ``dict(kernel_size=k, sigma=s)``).

    Args:
        prob (float): Probability of blurring an image, in [0, 1]. Default: 0.5.
        kernel_size (int | Sequence[int]): An odd kernel size, or ``(min, max)``: an
            odd size is drawn uniformly from the odd numbers in that range. Default: 5.
        sigma (float | Sequence[float]): The standard deviation, or ``(min, max)`` to
            draw it uniformly; 0 lets OpenCV compute it from the kernel size. Default: 0.
    """

    def __init__(self,
                 prob: float = 0.5,
                 kernel_size: Union[int, Sequence[int]] = 5,
                 sigma: Union[float, Sequence[float]] = 0.) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomGaussianBlur: prob={prob} must be in [0, 1]')
        self.prob = prob
        self.kernel_range = self._as_range('kernel_size', kernel_size)
        low, high = self.kernel_range
        if low < 1 or not any(k % 2 for k in range(int(low), int(high) + 1)):
            raise ValueError(f'RandomGaussianBlur: kernel_size={kernel_size} holds no '
                             'positive odd size')
        self.sigma_range = self._as_range('sigma', sigma)
        if self.sigma_range[0] < 0:
            raise ValueError(f'RandomGaussianBlur: sigma={sigma} must not be negative')

    @staticmethod
    def _as_range(name: str, value) -> Tuple[float, float]:
        if isinstance(value, (int, float)):
            return value, value
        if len(value) != 2 or value[0] > value[1]:
            raise ValueError(f'RandomGaussianBlur: {name}={value!r} must be a number or '
                             'a (min, max) pair')
        return tuple(value)

    @cache_randomness
    def _sample(self) -> Optional[dict]:
        """Draws whether to blur and with which kernel size and sigma."""
        if np.random.rand() >= self.prob:
            return None
        odd_sizes = [k for k in range(int(self.kernel_range[0]),
                                      int(self.kernel_range[1]) + 1) if k % 2]
        kernel_size = int(np.random.choice(odd_sizes))
        sigma = float(np.random.uniform(*self.sigma_range))
        return dict(kernel_size=kernel_size, sigma=sigma)

    def transform(self, results: dict) -> dict:
        """Blurs ``results['img']`` (or not) and records the parameters used."""
        params = self._sample()
        if params is not None:
            k = params['kernel_size']
            results['img'] = cv2.GaussianBlur(results['img'], (k, k), params['sigma'])
        results['gaussian_blur'] = params
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'kernel_size={self.kernel_range}, sigma={self.sigma_range})')
