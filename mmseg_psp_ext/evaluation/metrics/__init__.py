from .cityscapes_iiou_metric import CityscapesIIoUMetric
from .confusion_plot_metric import ConfusionPlotMetric

__all__ = ['CityscapesIIoUMetric', 'ConfusionPlotMetric']
