"""Deployment: ONNX export of a segmentor and the inference backends that run it."""
from .adaptive_pooling import ExportableAdaptivePool2d, exportable_adaptive_pooling
from .backends import BACKENDS, build_backend
from .onnx_export import SegmentorLogits, export_onnx

__all__ = [
    'BACKENDS', 'ExportableAdaptivePool2d', 'SegmentorLogits', 'build_backend',
    'export_onnx', 'exportable_adaptive_pooling'
]
