"""Shared set-up: MMSegmentation's registries with the plugin loaded, on the CPU."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.utils import register_all_modules

import mmseg_psp_ext  # noqa: F401  (registers the plugin's modules)

register_all_modules(init_default_scope=True)
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')
    yield


def pytest_report_header(config):
    """Says up front when the web demo's browser test cannot run (no Chromium)."""
    import os
    chromium = os.environ.get('CHROMIUM', '/usr/bin/chromium')
    if not os.access(chromium, os.X_OK):
        return (f'NOTE: Chromium is missing ({chromium}); tests/test_web_demo.py will be '
                'SKIPPED. Install it with `apt-get install -y chromium`.')
    return None
