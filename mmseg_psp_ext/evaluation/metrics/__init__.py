from .cityscapes_iiou_metric import CityscapesIIoUMetric

__all__ = ['CityscapesIIoUMetric']
