"""Known-harmless framework messages are silenced; others, and ours, still show."""
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

from mmengine.logging import MMLogger

from mmseg_psp_ext.utils import quiet

REPO = Path(__file__).resolve().parents[1]


def test_importing_the_plugin_prints_no_framework_noise():
    env = dict(os.environ, PYTHONPATH=str(REPO))  # Python's default filters, as users run
    env.pop('PYTHONWARNINGS', None)
    result = subprocess.run([sys.executable, '-c', 'import mmseg_psp_ext; print("done")'],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'done\n'
    assert 'OneDL' not in result.stderr and 'MultiScaleDeformableAttention' not in result.stderr


def test_import_filter_keeps_other_output(capsys):
    with quiet.framework_imports():
        print('Could not import OneDL')
        print('our own line')
        warnings.warn('Fail to import ``MultiScaleDeformableAttention`` here')  # not mmcv's
    assert capsys.readouterr().out == 'our own line\n'


def test_run_filters_match_text_and_module_only(recwarn):
    quiet.quiet_framework_logs()
    quiet.quiet_framework_logs()  # idempotent
    for message, category, module, _ in quiet.KNOWN_WARNINGS:
        text = message.replace('\\', '')
        exec(compile('import warnings; warnings.warn(TEXT, CATEGORY)', module, 'exec'),
             {'__name__': module.replace('\\', ''), 'TEXT': text, 'CATEGORY': category})
        warnings.warn(text, category)  # the same text from elsewhere (the plugin) shows
    assert len(recwarn) == len(quiet.KNOWN_WARNINGS)
    assert all(w.filename == __file__ for w in recwarn)


def test_logger_filter_drops_known_warnings_only(tmp_path):
    quiet.quiet_framework_logs()
    logger = MMLogger.get_instance('psp_quiet_test', log_file=str(tmp_path / 'log.txt'))
    logger.warning('The prefix is not set in metric class IoUMetric.')
    logger.warning('"FileClient" will be deprecated in future. Please use io functions')
    logger.warning('The prefix is not set in metric class OurMetric.')
    logger.info('The prefix is not set in metric class IoUMetric.')  # not a warning
    for handler in logger.handlers:
        handler.flush()
    text = (tmp_path / 'log.txt').read_text()
    assert 'OurMetric' in text and 'FileClient' not in text
    assert text.count('IoUMetric') == 1 and 'INFO' in text.split('IoUMetric')[0].splitlines()[-1]
    assert logging.getLogger('other').filter is not MMLogger.filter
