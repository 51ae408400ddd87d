from .check_seg_sample import CheckSegSample
from .gaussian_blur import RandomGaussianBlur
from .random_rescale import RandomRescale

__all__ = ['CheckSegSample', 'RandomGaussianBlur', 'RandomRescale']
