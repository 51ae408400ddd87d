"""MMEngine's CheckpointHook with crash-safe writes."""
import os
import os.path as osp
import re
from contextlib import contextmanager
from typing import Callable, Iterator, List

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ...utils.atomic_io import atomic_write, replace_atomically, temp_path_beside

_TEMP_NAME = re.compile(r'^\.(?:.+\.pth|last_checkpoint)\.[0-9a-f]{8}\.tmp$')


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose files are complete or absent, never half written.

    Each checkpoint is written to a hidden temporary file in the same folder, synced to
    disk, then renamed to its name (a rename is atomic), and the folder is synced. The
    ``last_checkpoint`` pointer is replaced the same way, after the checkpoint is in place.
    Checkpoints beyond ``max_keep_ckpts`` (and a previous best checkpoint) are removed only
    after the new one is complete, so a crash at any moment leaves at least one loadable
    checkpoint. Files get the user's umask, as with MMEngine's own hook. Temporary files
    left by a killed run are removed when training starts.

    Takes the arguments of ``mmengine.hooks.CheckpointHook``. Remote storage backends
    (``backend_args`` for Petrel, etc.) keep MMEngine's behaviour.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        self._local = isinstance(self.file_backend, LocalBackend)
        if is_main_process() and self._local and osp.isdir(self.out_dir):
            for name in os.listdir(self.out_dir):
                if _TEMP_NAME.match(name):  # left by a run killed while saving
                    os.remove(osp.join(self.out_dir, name))
                    print_log(f'Removed the incomplete checkpoint {name} of a killed run',
                              logger='current')

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Saves ``filename_tmpl.format(step)``, then drops checkpoints beyond the limit."""
        stale: List[int] = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids
                                            and self.keep_ckpt_ids[-1] == step):
            # _save_checkpoint and _save_best_checkpoint may both save the same step
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._atomic_save(runner.save_checkpoint)(
            self.out_dir, ckpt_filename, self.file_client_args,
            save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
            meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        atomic_write(osp.join(runner.work_dir, 'last_checkpoint'),
                     lambda f: f.write(self.last_ckpt), mode='w')
        for old_step in stale:
            self._remove(self.file_backend.join_path(self.out_dir,
                                                     self.filename_tmpl.format(old_step)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """MMEngine's best-checkpoint logic, with the old best removed after the new save."""
        if not self.save_best:
            return
        with self._deferred_removals() as removals, self._atomic_runner_save(runner):
            super()._save_best_checkpoint(runner, metrics)
        kept = set(getattr(self, 'best_ckpt_path_dict', {}).values())
        kept.add(getattr(self, 'best_ckpt_path', None))
        for path in removals:
            if path not in kept:
                self._remove(path)

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # checkpoints saved by DeepSpeed are folders
            self.file_backend.rmtree(path)

    def _atomic_save(self, save: Callable) -> Callable:
        """Wraps ``Runner.save_checkpoint(out_dir, filename, ...)`` to write atomically."""
        if not getattr(self, '_local', False) or getattr(save, 'is_atomic', False):
            return save

        def save_atomically(out_dir: str, filename: str, *args, **kwargs) -> None:
            path = osp.join(out_dir, filename)
            tmp = temp_path_beside(path)
            try:
                save(out_dir, osp.basename(tmp), *args, **kwargs)  # writes on rank 0 only
                if is_main_process():
                    replace_atomically(tmp, path)
            finally:
                if osp.exists(tmp):
                    os.remove(tmp)

        save_atomically.is_atomic = True
        return save_atomically

    @contextmanager
    def _atomic_runner_save(self, runner) -> Iterator[None]:
        patched_before = 'save_checkpoint' in vars(runner)
        original = runner.save_checkpoint
        runner.save_checkpoint = self._atomic_save(original)
        try:
            yield
        finally:
            if patched_before:
                runner.save_checkpoint = original
            else:
                del runner.save_checkpoint  # back to the class's method

    @contextmanager
    def _deferred_removals(self) -> Iterator[List[str]]:
        """Records what MMEngine's code removes instead of removing it at once."""
        removals: List[str] = []
        backend = self.file_backend

        class _Deferring:

            def __getattr__(self, name):
                return getattr(backend, name)

            def remove(self, path):
                removals.append(path)

            def rmtree(self, path):
                removals.append(path)

        self.file_backend = _Deferring()
        try:
            yield removals
        finally:
            self.file_backend = backend
