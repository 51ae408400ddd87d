"""A user's folder of images and masks as a dataset: layouts, class lists, mask encodings,
conversion to index masks, the inspection report and the config writer."""
from .classes import ClassTable, read_classes
from .convert import convert_masks, needs_conversion
from .dataset import FolderSegDataset
from .encoding import encode_labels
from .inspect_folder import Inspection, inspect_folder
from .layout import FolderDatasetError, Layout, find_layout

__all__ = [
    'ClassTable', 'FolderDatasetError', 'FolderSegDataset', 'Inspection', 'Layout',
    'convert_masks', 'encode_labels', 'find_layout', 'inspect_folder', 'needs_conversion',
    'read_classes'
]
