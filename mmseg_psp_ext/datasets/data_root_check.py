"""Stops a run at once, with a useful message, when a dataset is not where the config says."""
import os.path as osp
from typing import List


class DataRootCheckMixin:
    """Checks a dataset's folders and split file before MMSegmentation lists them.

    Mixed in before an MMSegmentation dataset class. Subclasses set ``prepare_hint``: how
    to get and lay out the data. Only local paths are checked (``backend_args=None``).
    """

    prepare_hint: str = 'See the README for how to prepare this dataset.'

    def load_data_list(self) -> List[dict]:
        """Checks the paths, then lists the samples as MMSegmentation does."""
        if getattr(self, 'backend_args', None) is None:
            wanted = [('images', self.data_prefix.get('img_path')),
                      ('annotations', self.data_prefix.get('seg_map_path'))]
            missing = [f'{what} folder {osp.abspath(path)}' for what, path in wanted
                       if path and not osp.isdir(path)]
            if self.ann_file and not osp.isfile(self.ann_file):
                missing.append(f'split file {osp.abspath(self.ann_file)}')
            if missing:
                raise FileNotFoundError(
                    f'{type(self).__name__}: no dataset at data_root='
                    f'{osp.abspath(self.data_root or ".")!r}; missing the '
                    + ' and the '.join(missing) + f'. {self.prepare_hint}')
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(
                f'{type(self).__name__}: found no images ending in {self.img_suffix!r} in '
                f"{osp.abspath(self.data_prefix.get('img_path', ''))}. {self.prepare_hint}")
        return data_list
