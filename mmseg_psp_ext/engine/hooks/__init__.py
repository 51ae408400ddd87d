from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_fit_hook import CheckpointFitHook
from .finite_loss_hook import FiniteLossHook
from .metrics_file_logger_hook import MetricsFileLoggerHook

__all__ = ['AtomicCheckpointHook', 'CheckpointFitHook', 'FiniteLossHook', 'MetricsFileLoggerHook']
