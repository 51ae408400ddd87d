"""Lists, at the end of a run, the bad samples that ``skip_bad_samples`` skipped."""
import logging
import os
import os.path as osp
from collections import Counter
from typing import Iterator

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from .sample_check_mixin import SampleCheckMixin


def leaf_datasets(dataset) -> Iterator:
    """The datasets inside ConcatDataset/RepeatDataset-like wrappers."""
    if hasattr(dataset, 'datasets'):
        for sub in dataset.datasets:
            yield from leaf_datasets(sub)
    elif hasattr(dataset, 'dataset'):
        yield from leaf_datasets(dataset.dataset)
    else:
        yield dataset


@HOOKS.register_module()
class BadSampleReportHook(Hook):
    """At the end of the run, logs every sample skipped by ``skip_bad_samples=True``.

    Lists each file once with how often it was skipped and why, and the total count,
    then removes the datasets' skip logs. Does nothing when no dataset skips samples.
    The default runtime config adds it.
    """

    priority = 'VERY_LOW'

    def after_run(self, runner) -> None:
        skipped, logs = [], []
        for split in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{split}_loop', None)  # a config dict if never built
            loader = getattr(loop, 'dataloader', None)
            for dataset in leaf_datasets(getattr(loader, 'dataset', None)):
                if isinstance(dataset, SampleCheckMixin) and dataset.bad_sample_log:
                    skipped += dataset.bad_samples()
                    logs.append(dataset.bad_sample_log)
        for log in set(logs):
            if osp.isfile(log):
                os.remove(log)
        if not skipped:
            return
        counts = Counter(path for path, _ in skipped)
        # the messages start with the file, which the list names already
        reasons = {path: message[len(path) + 2:] if message.startswith(path + ': ') else message
                   for path, message in skipped}
        lines = '\n'.join(f'  {path} (skipped {n}x): {reasons[path]}'
                          for path, n in sorted(counts.items()))
        print_log(f'{len(counts)} bad samples were skipped ({len(skipped)} times in all):\n'
                  f'{lines}\nFix or remove them; `python tools/check_dataset.py CONFIG` '
                  'checks them all.', logger='current', level=logging.WARNING)
