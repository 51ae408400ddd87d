"""MMEngine's LoggerHook whose test metrics file is written once, by rank 0."""
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.fileio import dump
from mmengine.hooks import LoggerHook
from mmseg.registry import HOOKS

from ...utils.atomic_io import atomic_write


@HOOKS.register_module()
class MetricsFileLoggerHook(LoggerHook):
    """``LoggerHook`` whose ``<timestamp>.json`` of test metrics stays readable.

    MMEngine's hook (0.10.7 and onedl's fork) writes the test metrics file on every
    process of a distributed test, all to the same path in the shared work directory: two
    processes that write at once can leave a file that is not JSON (seen with
    ``tools/slurm_test.sh`` on two tasks: one process's text over the other's, with a
    stray ``}`` at the end). Here only rank 0 writes it, through a temporary file and a
    rename, so readers never see it half written. Everything else is MMEngine's hook, with
    its arguments.
    """

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
        if is_main_process():
            atomic_write(osp.join(runner.log_dir, self.json_log_path),
                         lambda f: dump(self._process_tags(tag), f, file_format='json'), mode='w')
