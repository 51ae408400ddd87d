"""PSPNet plugin for MMSegmentation.

Importing this package registers its modules into MMSegmentation's registries; configs
reach it with ``custom_imports = dict(imports=['mmseg_psp_ext'], allow_failed_imports=False)``.
"""
from . import datasets, models  # noqa: F401  (registers the modules)
from . import evaluation  # noqa: F401  (registers the metrics)

__version__ = '0.1.0'
