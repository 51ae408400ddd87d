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
