"""Optimizer wrappers."""
from .amp_optim_wrapper import AnyDeviceAmpOptimWrapper

__all__ = ['AnyDeviceAmpOptimWrapper']
