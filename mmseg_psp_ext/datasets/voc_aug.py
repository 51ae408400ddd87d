"""PASCAL VOC 2012 with the SBD augmented annotations, with the data-root check."""
from mmseg.datasets import PascalVOCDataset
from mmseg.registry import DATASETS

from .data_root_check import DataRootCheckMixin


@DATASETS.register_module()
class PSPPascalVOCAugDataset(DataRootCheckMixin, PascalVOCDataset):
    """MMSegmentation's ``PascalVOCDataset`` that fails early when the data is missing.

    Layout under ``data_root`` (``data/VOCdevkit/VOC2012``): ``JPEGImages/*.jpg``,
    ``SegmentationClass/*.png`` (VOC's own labels), ``SegmentationClassAug/*.png``
    (SBD's labels as PNG), ``ImageSets/Segmentation/{train,val,aug,train_aug}.txt``.
    Labels are class indices 0..20 (0 = background); 255 (object borders, "void")
    stays ignored.
    """

    prepare_hint = (
        'Download VOCtrainval_11-May-2012.tar and the SBD benchmark (benchmark.tgz), '
        'then run `python tools/convert_voc_aug.py` (see its --help) to write '
        'VOC2012/SegmentationClassAug and ImageSets/Segmentation/{aug,train_aug}.txt, or '
        'point data_root at your copy: --cfg-options '
        'train_dataloader.dataset.data_root=PATH val_dataloader.dataset.data_root=PATH '
        'test_dataloader.dataset.data_root=PATH.')
