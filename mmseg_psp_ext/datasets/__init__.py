from .ade20k import PSPADE20KDataset
from .data_root_check import DataRootCheckMixin

__all__ = ['DataRootCheckMixin', 'PSPADE20KDataset']
