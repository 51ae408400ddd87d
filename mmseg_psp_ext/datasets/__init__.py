from .ade20k import PSPADE20KDataset
from .context_demo import ContextDemoDataset, generate_context_demo
from .data_root_check import DataRootCheckMixin

__all__ = [
    'ContextDemoDataset', 'DataRootCheckMixin', 'PSPADE20KDataset', 'generate_context_demo'
]
