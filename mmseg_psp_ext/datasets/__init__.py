from .ade20k import PSPADE20KDataset
from .cityscapes import PSPCityscapesDataset  # noqa: F401
from .data_root_check import DataRootCheckMixin
from .transforms import RandomGaussianBlur, RandomRescale  # noqa: F401
from .voc_aug import PSPPascalVOCAugDataset  # noqa: F401

__all__ = ['DataRootCheckMixin', 'PSPADE20KDataset']
