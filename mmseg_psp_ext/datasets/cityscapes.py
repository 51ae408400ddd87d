"""Cityscapes (fine, or coarse extra) with the data-root check."""
from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS

from .data_root_check import DataRootCheckMixin


@DATASETS.register_module()
class PSPCityscapesDataset(DataRootCheckMixin, CityscapesDataset):
    """MMSegmentation's ``CityscapesDataset`` that fails early when the data is missing.

    Layout under ``data_root`` (``data/cityscapes``):
    ``leftImg8bit/{train,val,train_extra}/<city>/*_leftImg8bit.png`` and
    ``gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png`` (train ids 0..18, 255
    ignored). For the coarse set pass
    ``seg_map_suffix='_gtCoarse_labelTrainIds.png'`` with ``gtCoarse/train_extra``.
    """

    prepare_hint = (
        'Download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip (plus '
        'leftImg8bit_trainextra.zip and gtCoarse.zip for fine + coarse) from '
        'cityscapes-dataset.com into data/cityscapes, then run '
        '`python tools/convert_cityscapes.py data/cityscapes` (see its --help) to write '
        'the *_labelTrainIds.png maps, or point data_root at your copy: --cfg-options '
        'train_dataloader.dataset.data_root=PATH val_dataloader.dataset.data_root=PATH '
        'test_dataloader.dataset.data_root=PATH.')
