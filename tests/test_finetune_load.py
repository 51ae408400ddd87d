"""``load_from`` with another class count fine-tunes, in one log line; other misfits stop.

``CheckpointFitHook`` (default runtime config) through MMEngine's own ``Runner`` (what
``tools/train.py`` and ``mim train mmseg`` run), on both stacks.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from frameworks_tiny import REPO, checkpoint_path, make_ade20k, write_config
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmseg_psp_ext  # noqa: F401  (registers the plugin)
from mmseg_psp_ext.deploy.loading import CheckpointError
from mmseg_psp_ext.engine.hooks.checkpoint_fit_hook import classifier_init_cfg

CLASSIFIERS = ['decode_head.conv_seg.weight', 'decode_head.conv_seg.bias',
               'auxiliary_head.conv_seg.weight', 'auxiliary_head.conv_seg.bias']
# Five of ADE20K's classes: the dataset maps them to 0..4 and every other label to 255.
FIVE_CLASSES = """
classes = ('wall', 'building', 'sky', 'floor', 'tree')
model['decode_head']['num_classes'] = 5
model['auxiliary_head']['num_classes'] = 5
train_dataloader['dataset']['metainfo'] = dict(classes=classes)
val_dataloader['dataset']['metainfo'] = dict(classes=classes)
"""


def _runner(config: Path, work_dir: Path, **overrides) -> Runner:
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.merge_from_dict(overrides)
    return Runner.from_cfg(cfg)


def _log(runner: Runner) -> str:
    return Path(runner.log_dir, f'{runner.timestamp}.log').read_text()


class _RecordStart(Hook):
    """The weights training starts from (after load_from)."""

    def before_train(self, runner) -> None:
        self.state = {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny 150-class checkpoint from a 2-iteration run, and its data."""
    root = tmp_path_factory.mktemp('finetune')
    data = make_ade20k(root / 'ade', num_train=2, num_val=1)
    config = write_config(root / 'ade150.py', data, max_iters=2, interval=2)
    _runner(config, root / 'ade150').train()
    ckpt = checkpoint_path(root / 'ade150', 2)
    return dict(root=root, data=data, ckpt=ckpt,
                saved=torch.load(ckpt, map_location='cpu')['state_dict'])


def _train_from(tiny, name: str, extra: str = '', max_iters: int = 1):
    """Trains a variant of the tiny config from the 150-class checkpoint; returns runner, start."""
    config = write_config(tiny['root'] / f'{name}.py', tiny['data'], max_iters=max_iters,
                          interval=2, extra=extra)
    runner = _runner(config, tiny['root'] / name, load_from=str(tiny['ckpt']), val_cfg=None,
                     val_dataloader=None, val_evaluator=None)
    record = _RecordStart()
    runner.register_hook(record)
    runner.train()
    return runner, record.state


def test_other_class_count_reinitialises_the_classifiers_in_one_log_line(tiny):
    runner, start = _train_from(tiny, 'five', FIVE_CLASSES)
    saved = tiny['saved']
    total = len(start)
    init = 'type=Normal, std=0.01'
    line = (f"Fine-tuning from {tiny['ckpt']}: its classifiers have 150 classes, the model 5: "
            f're-initialised {", ".join(CLASSIFIERS)} (decode_head.conv_seg: {init}; '
            f'auxiliary_head.conv_seg: {init}); loaded the other {total - 4} of {total} '
            'tensors.')
    log = _log(runner)
    assert log.count(line) == 1, log[-3000:]
    assert log.count('Fine-tuning from') == 1
    assert 'size mismatch' not in log and 'missing keys' not in log, log[-3000:]
    # every other tensor is the checkpoint's
    assert start.keys() == saved.keys()
    for key, value in saved.items():
        if key not in CLASSIFIERS:
            assert torch.equal(start[key], value), key
    # the classifiers are freshly initialised as the heads do it: Normal(0, 0.01), bias 0
    for head in ('decode_head', 'auxiliary_head'):
        weight, bias = start[f'{head}.conv_seg.weight'], start[f'{head}.conv_seg.bias']
        assert weight.shape[0] == bias.shape[0] == 5
        assert weight.shape[1:] == saved[f'{head}.conv_seg.weight'].shape[1:]
        assert torch.all(bias == 0)
        assert 0.005 < weight.std().item() < 0.02 and abs(weight.mean().item()) < 0.01
        assert weight.abs().min() > 0  # not zeros
        assert not torch.equal(weight, saved[f'{head}.conv_seg.weight'][:5])


def test_same_class_count_loads_every_tensor_silently(tiny):
    runner, start = _train_from(tiny, 'same')
    log = _log(runner)
    assert 'Fine-tuning from' not in log
    assert 'size mismatch' not in log and 'missing keys' not in log
    assert 'unexpected key' not in log, log[-3000:]
    for key, value in tiny['saved'].items():
        assert torch.equal(start[key], value), key


@pytest.mark.parametrize('extra, named', [
    ("model['backbone']['depth'] = 34\n", 'missing keys: backbone.layer1.2.bn1.bias'),
    ("model['decode_head']['pool_scales'] = ()\n",  # another head: the dilated FCN
     'unexpected keys: decode_head.psp_modules.0.1.bn.bias'),
    ("model['decode_head']['channels'] = 24\n",
     'shape mismatches (checkpoint vs model): decode_head.bottleneck.bn.bias (16,) vs (24,)'),
], ids=['depth', 'head', 'channels'])
def test_other_mismatches_stop_before_training_naming_the_keys(tiny, extra, named):
    with pytest.raises(CheckpointError) as error:
        _train_from(tiny, 'other', FIVE_CLASSES + extra)
    message = str(error.value)
    assert f"load_from {str(tiny['ckpt'])!r} does not fit the model" in message
    assert named in message, message
    assert 'conv_seg.weight' not in message  # the classifiers alone would be fine-tuned


def test_testing_needs_a_checkpoint_that_fits(tiny):
    config = write_config(tiny['root'] / 'test5.py', tiny['data'], extra=FIVE_CLASSES)
    runner = _runner(config, tiny['root'] / 'test5', load_from=str(tiny['ckpt']))
    with pytest.raises(CheckpointError, match=r'shape mismatches \(checkpoint vs model\): '
                       r'auxiliary_head.conv_seg.bias \(150,\) vs \(5,\)'):
        runner.test()


def test_classifier_init_follows_the_head_init_cfg():
    head = torch.nn.Module()
    head.init_cfg = dict(type='Normal', std=0.01, override=dict(name='conv_seg'))
    assert classifier_init_cfg(head) == dict(type='Normal', std=0.01)
    head.init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                     dict(type='Normal', std=0.01, override=dict(name='conv_seg', std=0.5))]
    assert classifier_init_cfg(head) == dict(type='Normal', std=0.5)
    head.init_cfg = None
    assert classifier_init_cfg(head) == dict(type='Normal', std=0.01)


def test_zoo_layout_checkpoint_fine_tunes_a_five_class_r50(monkeypatch):
    """MMSegmentation's own PSPNet-R50 (150 classes, the zoo's layout) into our R50 config."""
    from types import SimpleNamespace

    from mmengine.config import ConfigDict
    from mmengine.runner import BaseLoop
    from mmseg.registry import MODELS
    from test_parity_mmseg import mmseg_reference_model

    from mmseg_psp_ext.engine.hooks import CheckpointFitHook, checkpoint_fit_hook
    zoo = MODELS.build(ConfigDict(mmseg_reference_model()))  # torch's default init
    cfg = Config.fromfile(str(REPO / 'configs' / 'pspnet_r50_ade20k.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.decode_head.num_classes = cfg.model.auxiliary_head.num_classes = 5
    ours = MODELS.build(cfg.model)  # its own random weights

    class _Loop(BaseLoop):
        def run(self):
            pass

    runner = SimpleNamespace(_resume=False, _load_from='zoo.pth', model=ours,
                             cfg=SimpleNamespace(filename='five.py'),
                             _train_loop=_Loop.__new__(_Loop))
    logged = []
    monkeypatch.setattr(checkpoint_fit_hook, 'print_log', lambda msg, **_: logged.append(msg))
    checkpoint = dict(state_dict=zoo.state_dict(), meta={})
    CheckpointFitHook().after_load_checkpoint(runner, checkpoint)
    total = len(ours.state_dict())
    assert logged == [
        'Fine-tuning from zoo.pth: its classifiers have 150 classes, the model 5: '
        f're-initialised {", ".join(CLASSIFIERS)} (decode_head.conv_seg: type=Normal, '
        'std=0.01; auxiliary_head.conv_seg: type=Normal, std=0.01); loaded the other '
        f'{total - 4} of {total} tensors.']
    ours.load_state_dict(checkpoint['state_dict'], strict=True)  # it fits now
    for key, value in zoo.state_dict().items():
        if key not in CLASSIFIERS:
            assert torch.equal(ours.state_dict()[key], value), key


def _run(command, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='2',
               PYTHONPATH=os.pathsep.join(filter(None, (str(REPO),
                                                        os.environ.get('PYTHONPATH')))))
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_train_py_fine_tunes_two_iterations(tiny, tmp_path):
    """tools/train.py with load_from in a hand-written config (``mim train mmseg`` runs
    MMSegmentation's train.py: the same Runner as the tests above)."""
    config = write_config(tmp_path / 'five.py', tiny['data'], max_iters=2, interval=2,
                          extra=FIVE_CLASSES + f"load_from = {str(tiny['ckpt'])!r}\n")
    work_dir = tmp_path / 'work'
    result = _run([sys.executable, 'tools/train.py', str(config), '--work-dir', str(work_dir)],
                  REPO)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert output.count('Fine-tuning from') == 1, output[-4000:]
    assert 'its classifiers have 150 classes, the model 5: re-initialised' in output
    saved = torch.load(checkpoint_path(work_dir, 2), map_location='cpu')['state_dict']
    assert saved['decode_head.conv_seg.weight'].shape[0] == 5


@pytest.mark.slow
def test_test_py_stops_on_a_checkpoint_that_does_not_fit(tiny, tmp_path):
    config = write_config(tmp_path / 'five.py', tiny['data'], extra=FIVE_CLASSES)
    result = _run([sys.executable, 'tools/test.py', str(config), str(tiny['ckpt']),
                   '--work-dir', str(tmp_path / 'work')], REPO)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-4000:]
    assert f"test.py: checkpoint {str(tiny['ckpt'])!r} does not fit the model of" in output
    assert 'decode_head.conv_seg.weight (150, 16, 1, 1) vs (5, 16, 1, 1)' in output, \
        output[-4000:]
    assert 'Traceback' not in output


def _reinitialise_on_rank(rank: int, port: int, out: str) -> None:
    import torch.distributed as torch_dist
    from mmengine.model import BaseModule

    from mmseg_psp_ext.engine.hooks.checkpoint_fit_hook import reinitialise
    torch_dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                  world_size=2)
    torch.manual_seed(rank)  # each process would draw other values
    model = torch.nn.Module()
    model.decode_head = BaseModule(init_cfg=dict(type='Normal', std=0.01,
                                                 override=dict(name='conv_seg')))
    model.decode_head.conv_seg = torch.nn.Conv2d(8, 3, 1)
    reinitialise(model, ['decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'])
    torch.save(model.state_dict(), f'{out}/rank{rank}.pth')
    torch_dist.destroy_process_group()


@pytest.mark.slow
def test_reinitialised_classifiers_are_equal_on_every_process(tmp_path):
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(_reinitialise_on_rank, args=(port, str(tmp_path)), nprocs=2)
    first, second = (torch.load(tmp_path / f'rank{r}.pth') for r in (0, 1))
    assert torch.equal(first['decode_head.conv_seg.weight'],
                       second['decode_head.conv_seg.weight'])
    assert 0.005 < first['decode_head.conv_seg.weight'].std() < 0.02
