"""Training safety: atomic checkpoints, non-finite loss guard, resume fallback."""
from .hooks import AtomicCheckpointHook, FiniteLossHook
from .resume import (CheckpointError, check_checkpoint, find_resumable_checkpoint,
                     load_weights_only)

__all__ = ['AtomicCheckpointHook', 'FiniteLossHook', 'CheckpointError', 'check_checkpoint',
           'find_resumable_checkpoint', 'load_weights_only']
