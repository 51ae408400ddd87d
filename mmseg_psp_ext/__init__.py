"""PSPNet plugin for MMSegmentation.

Importing this package registers its modules into MMSegmentation's registries; configs
reach it with ``custom_imports = dict(imports=['mmseg_psp_ext'], allow_failed_imports=False)``.
"""
from .utils.quiet import framework_imports, quiet_framework_logs

with framework_imports():  # without onedl's "Could not import OneDL" and mmcv-lite's warning
    from . import compat  # noqa: F401  (version shims: weights_only checkpoint loading)
    from . import datasets, engine, evaluation, models, optim  # noqa: F401  (registers the modules)

__all__ = ['quiet_framework_logs']
__version__ = '0.1.0'
