from .metrics import CityscapesIIoUMetric, ConfusionPlotMetric

__all__ = ['CityscapesIIoUMetric', 'ConfusionPlotMetric']
