from .ade20k import PSPADE20KDataset
from .bad_sample_report_hook import BadSampleReportHook
from .cityscapes import PSPCityscapesDataset
from .class_count_check_hook import ClassCountCheckHook
from .context_demo import ContextDemoDataset, generate_context_demo
from .data_root_check import DataRootCheckMixin
from .folder import FolderDatasetError, FolderSegDataset
from .sample_check import DataSampleError
from .sample_check_mixin import SampleCheckMixin
from .transforms import CheckSegSample, RandomGaussianBlur, RandomRescale
from .voc_aug import PSPPascalVOCAugDataset

__all__ = [
    'BadSampleReportHook', 'CheckSegSample', 'ClassCountCheckHook', 'ContextDemoDataset',
    'DataRootCheckMixin', 'DataSampleError', 'FolderDatasetError', 'FolderSegDataset', 'PSPADE20KDataset', 'PSPCityscapesDataset',
    'PSPPascalVOCAugDataset', 'RandomGaussianBlur', 'RandomRescale', 'SampleCheckMixin',
    'generate_context_demo'
]
