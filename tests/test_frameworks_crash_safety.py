"""Checkpoints and crashes, through tools/train.py on a tiny PSPNet (CPU, both stacks).

A run killed after N iterations and resumed ends with the same weights as an uninterrupted
run; a truncated latest checkpoint is skipped with a warning; ``--resume PATH``; checkpoints
are atomic and follow the umask; NaN/inf losses stop the run (or skip the step) and never
reach a checkpoint; a failed ImageNet-weights download says what to set.
"""
import importlib.util
import json
import os
import shutil
import stat
import sys
import urllib.error
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from frameworks_tiny import (DETERMINISTIC, REPO, SimulatedCrash, checkpoint_path,
                             make_ade20k, write_config)
from mmengine.config import Config
from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import HOOKS, MODELS

import mmseg_psp_ext  # noqa: F401  (registers the plugin's hooks and modules)
from mmseg_psp_ext.engine import (AtomicCheckpointHook, CheckpointError, check_checkpoint,
                                  find_resumable_checkpoint)
from mmseg_psp_ext.engine.hooks import metrics_file_logger_hook

MAX_ITERS = 4


def _load_train_tool():
    spec = importlib.util.spec_from_file_location('train_tool', REPO / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRAIN = _load_train_tool()


def train(config: Path, work_dir: Path, *options: str) -> None:
    """``python tools/train.py CONFIG --work-dir WORK_DIR OPTIONS`` in this process."""
    options = list(options)
    if '--cfg-options' not in options:
        options.append('--cfg-options')
    options.insert(options.index('--cfg-options') + 1, f'experiment_name={work_dir.name}')
    argv = ['train.py', str(config), '--work-dir', str(work_dir), *options]
    saved = sys.argv
    sys.argv = argv
    try:
        TRAIN.main()
    finally:
        sys.argv = saved


def state(path: Path) -> dict:
    return torch.load(path, map_location='cpu')['state_dict']


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f'{len(different)} tensors differ, e.g. {different[:3]}'


@HOOKS.register_module(force=True)
class NanLossAtHook(Hook):
    """Makes the decode head's loss NaN in iteration ``iteration`` (1-based) only."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter + 1 == self.iteration:
            runner.model.decode_head.loss_decode.loss_weight = float('nan')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        runner.model.decode_head.loss_decode.loss_weight = 1.0


@HOOKS.register_module(force=True)
class NanWeightAtHook(Hook):
    """Puts a NaN into a weight after iteration ``iteration``, before its checkpoint."""

    priority = 'LOW'  # before CheckpointHook (VERY_LOW)

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            with torch.no_grad():
                runner.model.decode_head.conv_seg.weight[0, 0] = float('nan')


KEEP_ONE = "default_hooks['checkpoint']['max_keep_ckpts'] = 1"


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """The data folder and a function writing configs with a checkpoint every iteration."""
    root = tmp_path_factory.mktemp('crash')
    data = make_ade20k(root / 'ade')

    def config(name: str, extra: str = '') -> Path:
        return write_config(root / f'{name}.py', data, max_iters=MAX_ITERS, interval=1,
                            extra=DETERMINISTIC + extra)

    return root, config


@pytest.fixture(scope='module')
def setup(tiny):
    """An uninterrupted run (umask 0o027, keeping one checkpoint) and a run killed after
    iteration 3."""
    root, config = tiny
    saved = os.umask(0o027)
    try:
        train(config('keep1', KEEP_ONE), root / 'uninterrupted')
    finally:
        os.umask(saved)
    killed = root / 'killed'
    with pytest.raises(SimulatedCrash):
        train(config('crash', "custom_hooks = [dict(type='FiniteLossHook'), "
                     "dict(type='CrashAfterIterHook', iteration=3)]"), killed)
    reference = state(checkpoint_path(root / 'uninterrupted', MAX_ITERS))
    return root, config, config('plain'), reference, killed


def copy_of(killed: Path, work: Path) -> Path:
    shutil.copytree(killed, work)
    latest = checkpoint_path(work, 3)
    (work / 'last_checkpoint').write_text(str(latest))  # the copy's own files
    return work


@pytest.mark.slow
def test_uninterrupted_run_keeps_one_checkpoint_with_the_umask_mode(setup):
    root = setup[0]
    work = root / 'uninterrupted'
    kept = sorted(p.name for p in work.iterdir() if p.suffix in ('.pth', '.tmp')
                  or p.name.startswith('.'))
    assert kept == ['iter_4.pth']  # the older ones removed, no temporary file left
    assert (work / 'last_checkpoint').read_text() == str(checkpoint_path(work, 4))
    for name in ('iter_4.pth', 'last_checkpoint'):
        assert stat.S_IMODE(os.stat(work / name).st_mode) == 0o640, name


@pytest.mark.slow
def test_killed_and_resumed_run_equals_uninterrupted_run(setup, tmp_path):
    _, _, plain, reference, killed = setup
    assert not checkpoint_path(killed, 4).exists()
    assert (killed / 'last_checkpoint').read_text() == str(checkpoint_path(killed, 3))
    work = copy_of(killed, tmp_path / 'resumed')
    train(plain, work, '--resume')
    assert torch.load(checkpoint_path(work, MAX_ITERS), map_location='cpu')['meta']['iter'] == 4
    assert_same_weights(state(checkpoint_path(work, MAX_ITERS)), reference)


@pytest.mark.slow
def test_truncated_latest_checkpoint_falls_back_to_the_previous_one(setup, tmp_path):
    _, _, plain, reference, killed = setup
    work = copy_of(killed, tmp_path / 'truncated')
    latest = checkpoint_path(work, 3)
    data = latest.read_bytes()
    latest.write_bytes(data[:len(data) // 2])  # as a crash mid-write leaves a plain save
    with pytest.warns(UserWarning, match=f'Cannot resume from {latest}: cannot be read'):
        train(plain, work, '--resume')
    assert_same_weights(state(checkpoint_path(work, MAX_ITERS)), reference)


@pytest.mark.slow
@pytest.mark.parametrize('form', ['--resume PATH', '--resume --cfg-options load_from=PATH'])
def test_resume_path_resumes_from_that_file(setup, tmp_path, form):
    _, _, plain, reference, killed = setup
    work = tmp_path / 'elsewhere'
    path = str(checkpoint_path(killed, 2))
    train(plain, work, *form.replace('PATH', path).split())
    assert sorted(p.name for p in work.glob('iter_*.pth')) == ['iter_3.pth', 'iter_4.pth']
    assert_same_weights(state(checkpoint_path(work, MAX_ITERS)), reference)


@pytest.mark.slow
def test_resume_with_no_loadable_checkpoint_lists_what_was_tried(setup, tmp_path):
    _, _, plain, _, killed = setup
    work = copy_of(killed, tmp_path / 'broken')
    for iteration in (1, 2, 3):
        checkpoint_path(work, iteration).write_bytes(b'PK\x03\x04 truncated')
    with pytest.warns(UserWarning), pytest.raises(SystemExit) as failed:
        train(plain, work, '--resume')
    message = str(failed.value)
    assert f'No checkpoint in {work} can be loaded' in message
    positions = [message.index(str(checkpoint_path(work, i))) for i in (3, 2, 1)]
    assert positions == sorted(positions)  # newest first

    with pytest.raises(SystemExit, match=f'--resume: {checkpoint_path(work, 1)}: cannot be'):
        train(plain, tmp_path / 'other', '--resume', str(checkpoint_path(work, 1)))


def test_interrupted_checkpoint_write_keeps_the_previous_checkpoint(tiny, tmp_path,
                                                                     monkeypatch):
    _, config = tiny
    put = LocalBackend.put
    calls = []

    def put_half_then_die(self, obj, filepath):
        calls.append(filepath)
        if len(calls) == 2:  # the second checkpoint: half written, then the process dies
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise KeyboardInterrupt
        return put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', put_half_then_die)
    work = tmp_path / 'interrupted'
    with pytest.raises(KeyboardInterrupt):
        train(config('keep1w', KEEP_ONE), work)
    assert sorted(p.name for p in work.iterdir() if p.is_file()
                  and (p.suffix in ('.pth', '.tmp') or p.name == 'last_checkpoint')) == [
                      'iter_1.pth', 'last_checkpoint']
    assert (work / 'last_checkpoint').read_text() == str(checkpoint_path(work, 1))
    assert torch.load(checkpoint_path(work, 1), map_location='cpu')['meta']['iter'] == 1


def test_nan_loss_stops_naming_iteration_terms_and_last_checkpoint(tiny, tmp_path):
    _, config = tiny
    work = tmp_path / 'nan'
    cfg = config('nan', "custom_hooks = [dict(type='FiniteLossHook'), "
                 "dict(type='NanLossAtHook', iteration=3)]")
    with pytest.raises(FloatingPointError) as failed:
        train(cfg, work)
    message = str(failed.value)
    assert 'Non-finite loss at iteration 3' in message
    assert 'decode.loss_ce=nan (non-finite)' in message
    assert 'aux.loss_ce=' in message and 'aux.loss_ce=nan' not in message
    assert f'Last good checkpoint: {checkpoint_path(work, 2)}' in message
    assert not checkpoint_path(work, 3).exists()
    assert all(v.isfinite().all() for v in state(checkpoint_path(work, 2)).values()
               if v.is_floating_point())


def test_nan_loss_step_is_skipped_by_config(tiny, tmp_path):
    _, config = tiny
    work = tmp_path / 'skip'
    cfg = config('skip', "custom_hooks = [dict(type='FiniteLossHook', action='skip'), "
                 "dict(type='NanLossAtHook', iteration=3)]")
    train(cfg, work)
    # The skipped step changed nothing: weights, BN statistics and their counters.
    assert_same_weights(state(checkpoint_path(work, 3)), state(checkpoint_path(work, 2)))
    last = state(checkpoint_path(work, 4))
    assert all(v.isfinite().all() for v in last.values() if v.is_floating_point())
    assert not torch.equal(last['decode_head.conv_seg.weight'],
                           state(checkpoint_path(work, 3))['decode_head.conv_seg.weight'])


def test_non_finite_weights_are_never_saved(tiny, tmp_path):
    _, config = tiny
    work = tmp_path / 'nanweight'
    cfg = config('nanweight', "custom_hooks = [dict(type='FiniteLossHook'), "
                 "dict(type='NanWeightAtHook', iteration=2)]")
    with pytest.raises(FloatingPointError, match='Refusing to save the checkpoint of iteration '
                       f'2: non-finite values in decode_head.conv_seg.weight. Last good '
                       f'checkpoint: {checkpoint_path(work, 1)}'):
        train(cfg, work)
    assert sorted(p.name for p in work.iterdir() if p.suffix in ('.pth', '.tmp')) == [
        'iter_1.pth']


BACKBONE = dict(type='DilatedResNet', depth=18, stem_channels=16, base_channels=8)


@pytest.mark.parametrize('form', ['init_cfg', 'pretrained'])
def test_offline_pretrained_weights_error_says_what_to_set(form, monkeypatch):
    import mmengine.runner.checkpoint as checkpoint_module

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')

    monkeypatch.setattr(checkpoint_module, 'load_url', offline)
    key = 'open-mmlab://resnet18_v1c'
    if form == 'init_cfg':
        backbone = MODELS.build(dict(BACKBONE, init_cfg=dict(type='Pretrained',
                                                              checkpoint=key)))
    else:
        backbone = MODELS.build(dict(BACKBONE, pretrained=key))
    url = checkpoint_module.get_external_models()['resnet18_v1c']
    with pytest.raises(OSError) as failed:
        backbone.init_weights()
    message = str(failed.value)
    assert isinstance(failed.value.__cause__, urllib.error.URLError)
    assert f"'{key}' from {url}" in message and 'URLError' in message
    assert 'model.backbone.init_cfg.checkpoint=/path/to/weights.pth' in message
    assert 'model.pretrained=/path/to/weights.pth' in message
    assert 'model.backbone.init_cfg=None' in message and 'model.pretrained=None' in message
    assert os.path.join(torch.hub.get_dir(), 'checkpoints', os.path.basename(url)) in message


def test_missing_local_pretrained_file_names_it():
    backbone = MODELS.build(dict(BACKBONE, init_cfg=dict(type='Pretrained',
                                                         checkpoint='/no/such/r18.pth')))
    with pytest.raises(OSError, match=r"could not load the pretrained weights "
                       r"'/no/such/r18.pth' \(FileNotFoundError"):
        backbone.init_weights()


def _save(path: Path, iteration: int) -> Path:
    torch.save({'meta': {'iter': iteration}, 'state_dict': {'w': torch.randn(256)}}, path)
    return path


def test_find_resumable_checkpoint_orders_by_iteration_and_skips_corrupt_files(tmp_path):
    for iteration in (2, 10, 9):
        _save(tmp_path / f'iter_{iteration}.pth', iteration)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_10.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == (str(tmp_path / 'iter_10.pth'), [])

    latest = tmp_path / 'iter_10.pth'
    data = bytearray(latest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the tensor data
    latest.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f'{latest}: corrupt'):
        check_checkpoint(str(latest))
    with pytest.warns(UserWarning, match=f'{latest}: corrupt'):
        path, skipped = find_resumable_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'iter_9.pth') and len(skipped) == 1  # 9 before 2

    (tmp_path / 'last_checkpoint').unlink()  # no pointer: the numbered files still count
    with pytest.warns(UserWarning):
        assert find_resumable_checkpoint(str(tmp_path))[0] == str(tmp_path / 'iter_9.pth')
    assert find_resumable_checkpoint(str(tmp_path / 'empty')) == (None, [])


def test_resume_alone_ignores_the_config_files_initial_weights(tmp_path):
    init = _save(tmp_path / 'init.pth', 0)  # a config's load_from: weights to start from
    cfg = Config(dict(work_dir=str(tmp_path / 'work'), load_from=str(init)))
    assert TRAIN.resume_from(None, cfg) == (False, str(init))  # nothing to resume yet
    os.makedirs(cfg.work_dir)
    for iteration in (1, 2):
        _save(Path(cfg.work_dir) / f'iter_{iteration}.pth', iteration)
    (Path(cfg.work_dir) / 'last_checkpoint').write_text(f'{cfg.work_dir}/iter_2.pth')
    assert TRAIN.resume_from(None, cfg) == (True, f'{cfg.work_dir}/iter_2.pth')
    cfg.load_from = None
    assert TRAIN.resume_from(None, cfg) == (True, None)  # MMEngine's own auto-resume
    assert TRAIN.resume_from(str(init), cfg) == (True, str(init))


def test_best_checkpoint_replaces_the_old_best_after_the_new_one_is_saved(tiny, tmp_path,
                                                                        monkeypatch):
    _, config = tiny
    cfg = Config.fromfile(str(config('best', "default_hooks['checkpoint']['save_best'] = "
                                     "'mIoU'\ntrain_cfg['max_iters'] = 1")))
    cfg.work_dir, cfg.experiment_name = str(tmp_path / 'best'), 'best'
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, AtomicCheckpointHook))
    (tmp_path / 'best' / '.iter_9.pth.0123abcd.tmp').write_bytes(b'half')  # a killed save

    order = []
    save, remove = runner.save_checkpoint, LocalBackend.remove
    monkeypatch.setattr(runner, 'save_checkpoint',
                        lambda out_dir, filename, *a, **k: (order.append(('save', filename)),
                                                            save(out_dir, filename, *a, **k)))
    monkeypatch.setattr(LocalBackend, 'remove',
                        lambda self, path: (order.append(('remove', Path(path).name)),
                                            remove(self, path)))
    hook._save_best_checkpoint(runner, {'mIoU': 0.1})
    first = hook.best_ckpt_path
    runner.train_loop._iter = 7  # a later, better validation
    hook._save_best_checkpoint(runner, {'mIoU': 0.2})
    assert Path(hook.best_ckpt_path).name == 'best_mIoU_iter_7.pth'
    assert Path(hook.best_ckpt_path).is_file() and not Path(first).exists()
    best_saves = [i for i, (what, name) in enumerate(order)
                  if what == 'save' and 'best_mIoU_iter_7' in name]
    removal = order.index(('remove', Path(first).name))
    assert best_saves and best_saves[0] < removal  # the old best removed after the new save
    hook.before_train(runner)  # a new run in the same work dir cleans up killed saves
    assert not list((tmp_path / 'best').glob('.*.tmp'))


@pytest.mark.parametrize('rank0', [True, False])
def test_metrics_file_is_written_by_rank_0_only_and_whole(tmp_path, monkeypatch, rank0):
    """MetricsFileLoggerHook: the test metrics JSON comes from rank 0, complete (MMEngine's
    LoggerHook writes it on every rank, to one path)."""
    monkeypatch.setattr(metrics_file_logger_hook, 'is_main_process', lambda: rank0)
    logged = []
    runner = SimpleNamespace(
        log_dir=str(tmp_path), test_dataloader=[0, 1],
        logger=SimpleNamespace(info=logged.append),
        log_processor=SimpleNamespace(get_log_after_epoch=lambda *args, **kwargs: (
            {'mIoU': 41.5, 'aAcc': torch.tensor(80.25).item(), 'time': 0.5}, 'mIoU: 41.5')))
    hook = HOOKS.build(dict(type='MetricsFileLoggerHook'))
    hook.json_log_path = '20261206_000000.json'
    hook.after_test_epoch(runner, {'mIoU': 41.5})
    assert logged == ['mIoU: 41.5']  # every rank logs (the logger filters by rank)
    written = sorted(p.name for p in tmp_path.iterdir())
    if rank0:
        assert written == ['20261206_000000.json']  # no temporary file left
        assert json.loads((tmp_path / written[0]).read_text()) == {
            'mIoU': 41.5, 'aAcc': 80.25, 'time': 0.5}
    else:
        assert written == []
