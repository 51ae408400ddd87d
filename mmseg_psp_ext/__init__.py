"""PSPNet plugin for MMSegmentation.

Importing this package registers its modules into MMSegmentation's registries; configs
reach it with ``custom_imports = dict(imports=['mmseg_psp_ext'], allow_failed_imports=False)``.
"""
from . import compat  # noqa: F401  (version shims: weights_only checkpoint loading)
from . import datasets, engine, evaluation, models  # noqa: F401  (registers the modules)

__version__ = '0.1.0'
