from .gaussian_blur import RandomGaussianBlur
from .random_rescale import RandomRescale

__all__ = ['RandomGaussianBlur', 'RandomRescale']
