"""``FolderSegDataset``: a user's folder of images and masks, as ``tools/folder_dataset.py``
found it."""
from collections.abc import Mapping
from typing import Any, List, Optional

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..sample_check_mixin import SampleCheckMixin
from .convert import converted_path
from .layout import FolderDatasetError, find_layout


def plain(value: Any) -> Any:
    """``value`` with every mapping (a config's ``ConfigDict``) as a ``dict``, lists as lists.

    The metainfo goes into every checkpoint's meta, which ``torch.load(weights_only=True)``
    (torch >= 2.6, as mmengine 0.10.7 loads) refuses to unpickle when it holds a ConfigDict.
    """
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    return value


@DATASETS.register_module()
class FolderSegDataset(SampleCheckMixin, BaseSegDataset):
    """The pairs of one split of a user's folder (layouts of :mod:`.layout`).

    The pairs are found again when the dataset is built, with the folder names and
    ``val_fraction`` that ``tools/folder_dataset.py`` recorded, so the split is the one it
    reported. Masks are read from ``seg_root`` (index masks converted from colour or
    0/255 masks) when given, else from the user's folder.

    Args:
        split (str): ``'train'`` or ``'val'``.
        layout (dict): ``images``, ``masks`` and ``val_fraction`` for
            :func:`.layout.find_layout`.
        seg_root (str, optional): Folder of the converted index masks.
        mask_encoding (dict, optional): The user's mask encoding (a record: predictions
            are written back in it by ``tools/infer.py``).
        **kwargs: ``data_root``, ``metainfo`` (classes and palette),
            ``reduce_zero_label``, ``ignore_index``, ``pipeline``... of
            ``BaseSegDataset``; ``skip_bad_samples`` of ``SampleCheckMixin``.
    """

    METAINFO: dict = dict()

    def __init__(self, split: str = 'train', layout: Optional[dict] = None,
                 seg_root: Optional[str] = None, mask_encoding: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in ('train', 'val'):
            raise ValueError(f"FolderSegDataset: split={split!r} must be 'train' or 'val'")
        if not (kwargs.get('metainfo') or {}).get('classes'):
            raise ValueError('FolderSegDataset: metainfo=dict(classes=...) is required '
                             '(tools/folder_dataset.py writes it)')
        self.split = split
        self.layout = dict(layout or {})
        self.seg_root = seg_root
        self.mask_encoding = plain(mask_encoding)
        kwargs['metainfo'] = plain(kwargs['metainfo'])
        kwargs.setdefault('img_suffix', '')
        kwargs.setdefault('seg_map_suffix', '.png')
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """The pairs of this split, with the converted mask path where there is one."""
        layout = find_layout(self.data_root, **self.layout)
        data_list = []
        for pair in layout.pairs:
            if pair.split != self.split:
                continue
            seg = converted_path(self.seg_root, pair.key) if self.seg_root else pair.mask
            data_list.append(dict(img_path=pair.image, seg_map_path=seg,
                                  label_map=self.label_map,
                                  reduce_zero_label=self.reduce_zero_label, seg_fields=[]))
        if not data_list:
            raise FolderDatasetError(f'FolderSegDataset: no {self.split} pair in '
                                     f'{self.data_root}; run tools/folder_dataset.py on it')
        return data_list
