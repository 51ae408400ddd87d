"""ADE20K (SceneParsing, ADEChallengeData2016) with the data-root check."""
from mmseg.datasets import ADE20KDataset
from mmseg.registry import DATASETS

from .data_root_check import DataRootCheckMixin


@DATASETS.register_module()
class PSPADE20KDataset(DataRootCheckMixin, ADE20KDataset):
    """MMSegmentation's ``ADE20KDataset`` that fails early when the data is missing.

    Layout: ``data_root/images/{training,validation}/*.jpg`` and
    ``data_root/annotations/{training,validation}/*.png``; label 0 ("other") becomes
    255 (ignored) through ``reduce_zero_label=True``, the 150 classes become 0..149.
    """

    prepare_hint = (
        'Download ADEChallengeData2016.zip (the MIT Scene Parsing benchmark) and unzip it '
        'so that data/ade/ADEChallengeData2016/images/training exists, or point data_root '
        'at your copy: --cfg-options train_dataloader.dataset.data_root=PATH '
        'val_dataloader.dataset.data_root=PATH test_dataloader.dataset.data_root=PATH.')
