"""Training safety: atomic checkpoints, non-finite loss guard, resume fallback, load_from fit."""
from .hooks import (AtomicCheckpointHook, CheckpointFitHook, FiniteLossHook,
                    MetricsFileLoggerHook)
from .resume import (CheckpointError, check_checkpoint, find_resumable_checkpoint,
                     load_weights_only)

__all__ = ['AtomicCheckpointHook', 'CheckpointFitHook', 'FiniteLossHook', 'MetricsFileLoggerHook',
           'CheckpointError', 'check_checkpoint', 'find_resumable_checkpoint', 'load_weights_only']
