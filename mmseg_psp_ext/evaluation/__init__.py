from .metrics import CityscapesIIoUMetric

__all__ = ['CityscapesIIoUMetric']
