from .ade20k import PSPADE20KDataset
from .cityscapes import PSPCityscapesDataset
from .context_demo import ContextDemoDataset, generate_context_demo
from .data_root_check import DataRootCheckMixin
from .transforms import RandomGaussianBlur, RandomRescale
from .voc_aug import PSPPascalVOCAugDataset

__all__ = [
    'ContextDemoDataset', 'DataRootCheckMixin', 'PSPADE20KDataset', 'PSPCityscapesDataset',
    'PSPPascalVOCAugDataset', 'RandomGaussianBlur', 'RandomRescale', 'generate_context_demo'
]
