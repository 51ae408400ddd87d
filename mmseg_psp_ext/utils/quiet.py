"""Silences the framework messages that are known to be harmless for this plugin.

Two parts:

- :func:`framework_imports` wraps the plugin's own import of MMSegmentation: it drops the
  ``Could not import OneDL`` lines that onedl-mmsegmentation prints (a DEBUG message sent
  to ``print``, twice) and mmcv-lite's warning that ``MultiScaleDeformableAttention`` (a
  compiled op PSPNet never uses) is missing. Only while the plugin imports; afterwards
  every filter is as before.
- :func:`quiet_framework_logs`, called once at the start of each entry point
  (``tools/train.py``, ``tools/test.py``, ...), hides the warnings a run prints that are
  about the framework's own defaults and deprecations, listed in ``KNOWN_WARNINGS`` and
  ``KNOWN_LOG_WARNINGS`` with the reason each is harmless. Every message is matched by
  its text and the framework module that emits it, so a warning of this plugin (or a new
  one of the framework) is never hidden. The rest are listed in docs/frameworks.md.
"""
import contextlib
import io
import logging
import re
import sys
import warnings
from typing import Iterator, Tuple

# print()ed by onedl-mmsegmentation's mmseg/datasets/__init__.py and
# mmseg/datasets/transforms/__init__.py when the optional OneDL data package is absent.
KNOWN_PRINTS = ('Could not import OneDL', )

# (message regex, category, emitting module regex, why it is harmless)
KNOWN_WARNINGS: Tuple[Tuple[str, type, str, str], ...] = (
    (r'Fail to import ``MultiScaleDeformableAttention``', UserWarning,
     r'mmcv\.cnn\.bricks\.transformer',
     'mmcv-lite (onedl-mmcv) has no compiled ops; PSPNet uses none'),
    (r'Default ``avg_non_ignore`` is False', UserWarning,
     r'mmseg\.models\.losses\.cross_entropy_loss',
     "MMSegmentation's PSPNet configs (and its zoo numbers) use this default on purpose"),
    (r'The draw is False', UserWarning, r'mmseg\.engine\.hooks\.visualization_hook',
     'the hook draws only when asked (tools/test.py --show-dir turns it on)'),
    (r'`reduce_zero_label` will be deprecated', UserWarning,
     r'mmseg\.datasets\.transforms\.loading',
     "MMSegmentation's own ADE20K pipeline sets it on LoadAnnotations; unchanged in 1.x"),
)

# WARNING records of MMEngine's logger: (message regex, why it is harmless).
KNOWN_LOG_WARNINGS: Tuple[Tuple[str, str], ...] = (
    (r'^The prefix is not set in metric class IoUMetric\.$',
     'metric keys are mIoU/mAcc/aAcc as in every MMSegmentation log'),
    (r'^"FileClient" will be deprecated in future\.',
     "MMEngine's own CheckpointHook still creates one"),
    (r'^"HardDiskBackend" is the alias of "LocalBackend"',
     "MMEngine's own CheckpointHook still names it"),
)


@contextlib.contextmanager
def framework_imports() -> Iterator[None]:
    """Imports inside this block print and warn without the known-harmless messages."""
    captured = io.StringIO()
    with warnings.catch_warnings():
        _ignore_import_warnings()
        try:
            with contextlib.redirect_stdout(captured):
                yield
        finally:
            kept = [line for line in captured.getvalue().splitlines(keepends=True)
                    if line.rstrip('\n') not in KNOWN_PRINTS]
            sys.stdout.write(''.join(kept))


def _ignore_import_warnings() -> None:
    message, category, module, _ = KNOWN_WARNINGS[0]
    warnings.filterwarnings('ignore', message=message, category=category, module=module)


class _KnownLogWarnings(logging.Filter):
    """Drops the WARNING records listed in ``KNOWN_LOG_WARNINGS``."""

    patterns = [re.compile(pattern) for pattern, _ in KNOWN_LOG_WARNINGS]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        message = record.getMessage()
        return not any(p.search(message) for p in self.patterns)


def quiet_framework_logs() -> None:
    """Hides the known-harmless framework warnings for the rest of this process.

    For entry points only (a library import must not change a user's filters). The
    Python warnings are filtered by text, category and emitting module; MMEngine's logger
    records by text, through a filter on ``MMLogger`` (every instance, also those the
    runner creates later).
    """
    for message, category, module, _ in KNOWN_WARNINGS:
        warnings.filterwarnings('ignore', message=message, category=category, module=module)
    from mmengine.logging import MMLogger
    if getattr(MMLogger, '_psp_known_warnings', None) is None:
        known = _KnownLogWarnings()
        framework_filter = MMLogger.filter

        def filter_known(self, record):
            return known.filter(record) and framework_filter(self, record)

        MMLogger._psp_known_warnings = known
        MMLogger.filter = filter_known
