"""MMEngine checkpoints load with torch.load(weights_only=True) and runs resume (both stacks).

mmengine 0.10.7 calls plain ``torch.load``, which since torch 2.6 refuses the message hub
in its own checkpoints; ``mmseg_psp_ext.compat`` allowlists exactly those globals.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from frameworks_tiny import checkpoint_path, make_ade20k, write_config
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner, load_checkpoint

import mmseg_psp_ext  # noqa: F401  (registers the plugin and the checkpoint allowlist)
from mmseg_psp_ext.compat import mmengine_checkpoint_globals


def _runner(config: Path, work_dir: Path, name: str, **overrides) -> Runner:
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    cfg.merge_from_dict(overrides)
    return Runner.from_cfg(cfg)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 2-iteration run through the MMEngine Runner that saves iter_2.pth."""
    root = tmp_path_factory.mktemp('ckpt')
    config = write_config(root / 'tiny.py', make_ade20k(root / 'ade'), max_iters=2,
                          interval=2)
    runner = _runner(config, root / 'work', 'first')
    runner.train()
    return config, checkpoint_path(root / 'work', 2)


def test_plain_torch_load_refuses_it_without_the_plugin(trained):
    _, ckpt = trained
    code = ('import json, sys, torch\n'
            'print(json.dumps(torch.serialization.get_unsafe_globals_in_checkpoint(sys.argv[1])))\n'
            'torch.load(sys.argv[1])\n')
    result = subprocess.run([sys.executable, '-c', code, str(ckpt)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert 'Weights only load failed' in result.stderr
    needed = set(json.loads(result.stdout.splitlines()[0]))
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in needed
    allowed = {name for _, name in mmengine_checkpoint_globals()}
    assert needed <= allowed, f'not allowlisted: {sorted(needed - allowed)}'


def test_checkpoint_globals_are_all_allowlisted_after_import(trained):
    _, ckpt = trained
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(ckpt)) == []


def test_weights_only_load_matches_unrestricted_load(trained):
    _, ckpt = trained
    safe = torch.load(ckpt, map_location='cpu', weights_only=True)
    full = torch.load(ckpt, map_location='cpu', weights_only=False)
    assert safe['meta']['iter'] == full['meta']['iter'] == 2
    assert safe['state_dict'].keys() == full['state_dict'].keys()
    for key, value in full['state_dict'].items():
        assert torch.equal(safe['state_dict'][key], value), key
    scalars = full['message_hub']['log_scalars']
    assert scalars, 'the message hub logged nothing'
    for key, buffer in scalars.items():
        loaded = safe['message_hub']['log_scalars'][key]
        assert isinstance(loaded, HistoryBuffer)
        values, counts = buffer.data
        np.testing.assert_array_equal(loaded.data[0], values)
        np.testing.assert_array_equal(loaded.data[1], counts)
        assert loaded.mean() == buffer.mean() and loaded.current() == buffer.current()


def test_load_checkpoint_restores_every_weight(trained):
    config, ckpt = trained
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    model = MODELS.build(Config.fromfile(str(config)).model)
    load_checkpoint(model, str(ckpt), map_location='cpu', strict=True)
    saved = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    state = model.state_dict()
    assert state.keys() == saved.keys()
    for key, value in saved.items():
        assert torch.equal(state[key], value), key


class _RecordResume(Hook):
    """Records the weights and iteration the resumed run starts from."""

    def __init__(self) -> None:
        self.start_state = None
        self.start_momentum = None
        self.iters = []

    def before_train(self, runner) -> None:
        self.start_state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}
        self.start_momentum = len(runner.optim_wrapper.optimizer.state)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.iters.append(runner.iter)


def test_resume_continues_from_the_checkpoint(trained, tmp_path):
    config, ckpt = trained
    runner = _runner(config, tmp_path / 'resumed', 'resumed', resume=True, load_from=str(ckpt),
                     train_cfg=dict(max_iters=4))
    record = _RecordResume()
    runner.register_hook(record)
    runner.train()

    saved = torch.load(ckpt, map_location='cpu', weights_only=False)
    for key, value in saved['state_dict'].items():
        assert torch.equal(record.start_state[key], value), key
    assert record.start_momentum == len(saved['optimizer']['state']) > 0
    assert record.iters == [2, 3]
    final = torch.load(checkpoint_path(tmp_path / 'resumed', 4), map_location='cpu')
    assert final['meta']['iter'] == 4
    assert final['message_hub']['log_scalars']['train/loss'].data[0].size == 4


class _Getattr:
    """Pickles as ``getattr(owner, name)``, as protocol 2 writes methods."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


def test_getattr_is_allowed_only_for_history_buffer_statistics(tmp_path):
    path = tmp_path / 'methods.pth'
    torch.save({'ok': _Getattr(HistoryBuffer, 'mean')}, path)
    assert torch.load(path, weights_only=True)['ok'] is HistoryBuffer.mean

    for owner, name in ((HistoryBuffer, '__init__'), (np.ndarray, 'tofile')):
        torch.save({'bad': _Getattr(owner, name)}, path)
        with pytest.raises(Exception, match='refused getattr'):
            torch.load(path, weights_only=True)
