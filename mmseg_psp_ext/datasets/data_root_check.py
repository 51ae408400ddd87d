"""Stops a run at once, with a useful message, when a dataset is not where the config says."""
import logging
import os.path as osp
from typing import List, Type

from mmengine.logging import print_log

from .sample_check import CHECK_TOOL_HINT, DataSampleError, check_pairs, summarise
from .sample_check_mixin import SampleCheckMixin


class DataRootCheckMixin(SampleCheckMixin):
    """Checks a dataset's folders, split file and label files when it is built.

    Mixed in before an MMSegmentation dataset class. Subclasses set ``prepare_hint``: how
    to get and lay out the data. Only local paths are checked (``backend_args=None``).
    After listing, every image must have its label file (MMSegmentation pairs them by
    name without looking): a missing one stops the run at once, naming the first ten
    and the count. ``full_check=True`` also reads every pair up front, as
    ``tools/check_dataset.py`` does, in ``full_check_nproc`` processes with a progress
    bar; with ``skip_bad_samples=True`` the bad training pairs are dropped (and listed at
    the end of the run by ``BadSampleReportHook``) instead of stopping the run.

    Args:
        full_check (bool): Read and check every image/label pair before training.
            Default: False.
        full_check_nproc (int): Processes for the full check. Default: 2.
    """

    prepare_hint: str = 'See the README for how to prepare this dataset.'
    #: ``tools/check_dataset.py`` turns this off to report missing files with the rest.
    check_listing: bool = True

    def __init__(self, *args, full_check: bool = False, full_check_nproc: int = 2,
                 **kwargs) -> None:
        self.full_check = full_check
        self.full_check_nproc = full_check_nproc
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Checks the paths, then lists the samples as MMSegmentation does."""
        local = getattr(self, 'backend_args', None) is None
        if local:
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
        if local and self.check_listing:
            data_list = self._drop_or_refuse(
                data_list, self._missing_files(data_list), 'have missing files',
                'Check data_root, data_prefix, '
                f'img_suffix={self.img_suffix!r} and seg_map_suffix={self.seg_map_suffix!r} '
                '(images and labels are paired by name), add the missing files or remove '
                'their images', FileNotFoundError)
        if self.full_check and self.check_listing:
            data_list = self._full_check(data_list)
        return data_list

    def _missing_files(self, data_list: List[dict]) -> List[str]:
        """The images of ``data_list`` (and the files it names) that are not on disk."""
        problems = []
        for info in data_list:
            seg_path = info.get('seg_map_path')
            if not osp.isfile(info['img_path']):  # listed in a split file only
                problems.append(f"{info['img_path']}: image file does not exist")
            elif seg_path and not osp.isfile(seg_path):
                problems.append(f"{info['img_path']}: no label file {seg_path}")
        return problems

    def _drop_or_refuse(self, data_list: List[dict], problems: List[str], what: str,
                        fix: str, error: Type[Exception]) -> List[dict]:
        """Stops with the first ten problems, or drops their samples when skipping."""
        if not problems:
            return data_list
        lines, count = summarise(problems)
        where = (f"{type(self).__name__} at {osp.abspath(self.data_prefix.get('img_path', ''))}"
                 f': {count} of {len(data_list)} samples')
        if not self.skip_bad_samples or self.test_mode:  # never drop evaluation samples
            message = (f'{where} {what}:\n{lines}\n{fix}; or set '
                       'skip_bad_samples=True in the dataset config to train without them; '
                       f'{CHECK_TOOL_HINT}.')
            if error is DataSampleError:
                raise DataSampleError(message, problems[0].split(': ', 1)[0])
            raise error(message)
        bad = {problem.split(': ', 1)[0] for problem in problems}
        for problem in problems:
            self.record_bad_sample(*problem.split(': ', 1))
        print_log(f'{where} {what}; skipping them:\n{lines}',
                  logger='current', level=logging.WARNING)
        return [info for info in data_list
                if info['img_path'] not in bad and info.get('seg_map_path') not in bad]

    def _full_check(self, data_list: List[dict]) -> List[dict]:
        num_classes = len(self.metainfo['classes'])
        samples = [dict(img_path=info['img_path'], seg_map_path=info.get('seg_map_path'),
                        reduce_zero_label=info.get('reduce_zero_label', False),
                        label_map=info.get('label_map'), num_classes=num_classes,
                        ignore_index=self.ignore_index) for info in data_list]
        problems = check_pairs(samples, self.full_check_nproc,
                               desc=f'{type(self).__name__}: checking every pair')
        return self._drop_or_refuse(data_list, problems, 'are bad',
                                    'Fix or remove these files (see each message)',
                                    DataSampleError)
