"""Dataset side of the sample checks: metainfo for ``CheckSegSample``, skipping bad samples."""
import logging
import os
import os.path as osp
import tempfile
import uuid
from typing import Any, List, Optional, Tuple

from mmcv.transforms import LoadAnnotations, LoadImageFromFile
from mmengine.logging import print_log

from .sample_check import DataSampleError, unreadable_message


class SampleCheckMixin:
    """Gives each sample its dataset's class count, and names the file of a bad sample.

    Mixed in before an MMSegmentation dataset class. Every sample's results carry
    ``num_classes`` (the metainfo's classes) and ``ignore_index`` for ``CheckSegSample``.
    An image or label that ``LoadImageFromFile``/``LoadAnnotations`` cannot read raises
    ``DataSampleError`` naming the file, whatever the decoder raised.

    With ``skip_bad_samples=True`` a bad training sample is skipped with a warning and
    another one drawn (mmengine's ``max_refetch`` mechanism); the skipped files are
    appended to a log file (created at the first skip, in the temporary folder) that
    ``BadSampleReportHook`` lists and removes at the end of the run; a file, because the
    skips happen in the dataloader's worker processes. In test mode (validation,
    test) a bad sample still raises: dropping it would change the metric silently.

    Args:
        skip_bad_samples (bool): Skip bad training samples instead of stopping.
            Default: False.
    """

    def __init__(self, *args, skip_bad_samples: bool = False, **kwargs) -> None:
        self.skip_bad_samples = skip_bad_samples
        self.bad_sample_log: Optional[str] = None
        if skip_bad_samples:
            self.bad_sample_log = osp.join(
                tempfile.gettempdir(), f'mmseg_psp_ext-bad-samples-{uuid.uuid4().hex}.log')
        super().__init__(*args, **kwargs)

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['num_classes'] = len(self.metainfo['classes'])
        info['ignore_index'] = self.ignore_index
        return info

    def prepare_data(self, idx: int) -> Any:
        """The pipeline's output, or None for a skipped bad sample (then another is drawn)."""
        try:
            return self._run_pipeline(self.get_data_info(idx))
        except DataSampleError as error:
            if not self.skip_bad_samples or self.test_mode:
                raise
            count = self.record_bad_sample(error.path, str(error))
            print_log(f'skipping bad sample ({count} so far): {error}',
                      logger='current', level=logging.WARNING)
            return None

    def _run_pipeline(self, results: dict) -> Any:
        """``Compose.__call__`` with the file named when a loading transform fails."""
        transforms = getattr(self.pipeline, 'transforms', None)
        if transforms is None:
            return self.pipeline(results)
        for transform in transforms:
            try:
                results = transform(results)
            except DataSampleError:
                raise
            except Exception as error:
                failed = self._failed_file(transform, results)
                if failed is None:
                    raise
                path, what = failed
                raise DataSampleError(unreadable_message(path, what, error), path) from error
            if results is None:
                return None
        return results

    @staticmethod
    def _failed_file(transform, results: dict) -> Optional[Tuple[str, str]]:
        if isinstance(transform, LoadImageFromFile):
            return results['img_path'], 'image'
        if isinstance(transform, LoadAnnotations) and results.get('seg_map_path'):
            return results['seg_map_path'], 'label map'
        return None

    def record_bad_sample(self, path: str, message: str) -> int:
        """Appends one skipped sample to the log; returns the number logged so far."""
        line = f"{path}\t{' '.join(message.split())}\n"
        # one short O_APPEND write per line: lines of concurrent workers do not mix
        fd = os.open(self.bad_sample_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return len(self.bad_samples())

    def bad_samples(self) -> List[Tuple[str, str]]:
        """The skipped samples logged so far, as ``(path, message)``, repeats included."""
        if not self.bad_sample_log or not osp.isfile(self.bad_sample_log):
            return []
        with open(self.bad_sample_log) as f:
            return [tuple(line.rstrip('\n').split('\t', 1)) for line in f if '\t' in line]
