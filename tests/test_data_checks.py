"""Bad data stops a run where the sample is loaded, naming the file, the value and the fix.

Tiny synthetic ADE20K/VOC/Cityscapes sets in the real layouts (the builders of
tests/test_datasets_layouts.py), built through the real dataset base configs.
"""
import glob
import importlib.util
import logging
import os
import os.path as osp
import pickle
import subprocess
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

import mmseg_psp_ext  # noqa: F401  (registers the plugin)
from mmseg_psp_ext.datasets import (BadSampleReportHook, CheckSegSample, ClassCountCheckHook,
                                    DataSampleError)
from test_datasets_layouts import (BASES, DATASET_BASES, MAKERS, REPO, TINY_CONFIG,
                                   build_dataset, make_ade20k, write)

H, W = 48, 64  # the builders' image size
ADE = 'ade20k.py'
TOOL_HINT = 'tools/check_dataset.py CONFIG'


def ade_train(tmp_path, **switches):
    """The training set of the ADE20K base over a fresh tiny copy: (dataset, root)."""
    root = make_ade20k(str(tmp_path), np.random.default_rng(0))
    cfg = Config.fromfile(osp.join(BASES, ADE)).train_dataloader.dataset
    cfg.update(switches)
    return (lambda: build_dataset(cfg, tmp_path)), root


def ann(root, index=0):
    return osp.join(root, 'annotations', 'training', f'ADE_train_{index:08d}.png')


def img(root, index=0):
    return osp.join(root, 'images', 'training', f'ADE_train_{index:08d}.jpg')


def big_jpeg(path, size=256):
    """A JPEG large enough that OpenCV decodes a truncated copy without an error."""
    rng = np.random.default_rng(7)
    assert cv2.imwrite(path, rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
                       [cv2.IMWRITE_JPEG_QUALITY, 95])


# The bad inputs of issue 9, each as a change to training sample 0 of a valid set, and
# what the error must say besides the file.
def value_200(root):
    label = cv2.imread(ann(root), cv2.IMREAD_UNCHANGED)
    label[:3, :5] = 200  # 15 pixels
    write(ann(root), label)
    return ann(root), ['199 (15 px)', 'stored as 200', 'reduce_zero_label',
                       '0..149', 'ignore index 255', 'num_classes']


def other_size(root):
    write(ann(root), np.ones((H // 2, W), np.uint8))
    return ann(root), [f'{W}x{H // 2}', f'{W}x{H}', img(root)]


def rgb_label(root):
    write(ann(root), np.dstack([np.full((H, W), v, np.uint8) for v in (1, 2, 3)]))
    return ann(root), ['is RGB', 'class indices', 'convert']


def truncated_jpeg(root):
    big_jpeg(img(root))
    write(ann(root), np.ones((256, 256), np.uint8))
    data = open(img(root), 'rb').read()
    open(img(root), 'wb').write(data[:len(data) * 2 // 3])
    # cv2.imread decodes it (grey bottom rows); mmcv's decoding flags give None
    assert cv2.imread(img(root)) is not None
    return img(root), ['truncated']


def cut_jpeg_header(root):
    data = open(img(root), 'rb').read()
    open(img(root), 'wb').write(data[:300])
    return img(root), ['unreadable image', '300 bytes', 'truncated, corrupt']


def corrupt_png_label(root):
    open(ann(root), 'wb').write(b'\x89PNG\r\n\x1a\n garbage')
    return ann(root), ['unreadable label map']


LOAD_TIME = [value_200, other_size, rgb_label, truncated_jpeg, cut_jpeg_header,
             corrupt_png_label]


@pytest.mark.parametrize('spoil', LOAD_TIME, ids=lambda f: f.__name__)
def test_bad_sample_stops_where_it_is_loaded(spoil, tmp_path):
    build, root = ade_train(tmp_path)
    dataset = build()
    path, words = spoil(root)
    with pytest.raises(DataSampleError) as error:
        dataset[0]
    message = str(error.value)
    assert message.startswith(path + ': ')
    assert error.value.path == path
    for word in words + [TOOL_HINT]:
        assert word in message
    dataset[1]  # the good sample still loads


@pytest.mark.parametrize('spoil', [value_200, other_size, rgb_label],
                         ids=lambda f: f.__name__)
def test_validation_pipeline_checks_too(spoil, tmp_path):
    """The test pipeline resizes before LoadAnnotations: the size check uses ori_shape."""
    root = make_ade20k(str(tmp_path), np.random.default_rng(0))
    val_ann = ann(root).replace('training', 'validation').replace('_train_', '_valid_')
    cfg = Config.fromfile(osp.join(BASES, ADE)).val_dataloader.dataset
    val = build_dataset(cfg, tmp_path)
    val[0]  # valid; Resize to (2048, 512) makes the image 683x512, the label stays 64x48
    os.replace(val_ann, ann(root))  # reuse the spoilers on the val sample's label
    spoil(root)
    os.replace(ann(root), val_ann)
    with pytest.raises(DataSampleError, match=val_ann):
        val[0]


def test_transform_alone_on_results(tmp_path):
    """Without a dataset that injects the metainfo, the arguments give it."""
    label = np.zeros((4, 5), np.uint8)
    label[0, :3] = (20, 255, 21)
    results = dict(img_path=str(tmp_path / 'a.png'), seg_map_path='a_label.png',
                   ori_shape=(4, 5), gt_seg_map=label)
    with pytest.raises(DataSampleError, match=r'a_label.png: label values 21 \(1 px\)'):
        CheckSegSample(num_classes=21)(dict(results))
    assert CheckSegSample(num_classes=22)(dict(results)) is not None
    assert CheckSegSample()(dict(results)) is not None  # range unknown: not checked
    with pytest.raises(DataSampleError, match='need reduce_zero_label=True'):
        CheckSegSample(num_classes=21)(dict(results, gt_seg_map=np.full((4, 5), 21, np.uint8)))
    with pytest.raises(DataSampleError, match='is 5x4'):
        CheckSegSample()(dict(results, ori_shape=(5, 5)))
    grey = np.dstack([label] * 3)
    with pytest.raises(DataSampleError, match='channels are equal, so keep one'):
        CheckSegSample()(dict(results, gt_seg_map=grey))
    with pytest.raises(ValueError, match='num_classes=0'):
        CheckSegSample(num_classes=0)


def test_transform_finds_a_jpeg_without_its_end_marker(tmp_path):
    path = str(tmp_path / 'a.jpg')
    big_jpeg(path)
    results = dict(img_path=path, ori_shape=(256, 256))
    assert CheckSegSample()(dict(results)) is not None
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:-1000])
    with pytest.raises(DataSampleError, match=f'{path}: truncated JPEG'):
        CheckSegSample()(dict(results))


def test_transform_accepts_an_in_memory_image():
    """mmseg.apis.inference_model on an array (web demo, video frames): no img_path."""
    results = dict(img_path=None, img=np.zeros((4, 5, 3), np.uint8), ori_shape=(4, 5))
    assert CheckSegSample()(dict(results)) is not None


def test_error_survives_a_dataloader_worker(tmp_path):
    error = pickle.loads(pickle.dumps(DataSampleError('x.png: bad', 'x.png')))
    assert (str(error), error.path) == ('x.png: bad', 'x.png')
    assert str(DataSampleError('Caught in worker: x.png: bad')) == 'Caught in worker: x.png: bad'


def test_missing_labels_stop_the_build_naming_ten_and_the_count(tmp_path):
    build, root = ade_train(tmp_path)
    for i in range(2, 14):  # 12 more images without labels
        write(img(root, i), np.zeros((H, W, 3), np.uint8))
    with pytest.raises(FileNotFoundError) as error:
        build()
    message = str(error.value)
    assert '12 of 14 samples have missing files' in message
    assert f'no label file {ann(root, 2)}' in message and f'{img(root, 11)}:' in message
    assert f'{img(root, 12)}:' not in message and '... and 2 more' in message
    assert "seg_map_suffix='.png'" in message and TOOL_HINT in message


def test_split_file_entry_without_its_image_stops_the_build(tmp_path):
    root = MAKERS['voc'](str(tmp_path), np.random.default_rng(0))
    os.remove(osp.join(root, 'JPEGImages', '2008_000001.jpg'))  # listed in train_aug.txt
    cfg = Config.fromfile(osp.join(BASES, 'paper_voc12aug-473x473.py'))
    with pytest.raises(FileNotFoundError, match='1 of 2 samples have missing files') as error:
        build_dataset(cfg.train_dataloader.dataset, tmp_path)
    assert osp.join(root, 'JPEGImages', '2008_000001.jpg') + ': image file does not exist' in str(
        error.value)


def test_empty_image_folder_stops_the_build(tmp_path):
    build, root = ade_train(tmp_path)
    for path in glob.glob(osp.join(root, 'images', 'training', '*')):
        os.remove(path)
    with pytest.raises(FileNotFoundError, match="found no images ending in '.jpg'"):
        build()


@pytest.mark.parametrize('base', sorted(DATASET_BASES) + ['context_demo.py'])
def test_valid_data_passes_every_pipeline(base, tmp_path):
    """No false positives: ADE20K 0 -> 255 and 150 -> 149, VOC's 255 borders, trainIds."""
    cfg = Config.fromfile(osp.join(BASES, base))
    if base == 'context_demo.py':
        from mmseg_psp_ext.datasets import generate_context_demo
        generate_context_demo(str(tmp_path / cfg.data_root), 2, 2, size=64)
    else:
        MAKERS[DATASET_BASES[base][0]](str(tmp_path), np.random.default_rng(0))
    for key in ('train_dataloader', 'val_dataloader'):
        dataset = build_dataset(cfg[key].dataset, tmp_path)
        types = [t['type'] for t in (cfg[key].dataset.get('pipeline')
                                     or cfg[key].dataset.datasets[0].pipeline)]
        assert types[types.index('LoadAnnotations') + 1] == 'CheckSegSample'
        for index in range(len(dataset)):
            dataset[index]


def config_pipelines(node):
    """Every list of transforms in a parsed config (TestTimeAug's inner lists included)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('pipeline', 'tta_pipeline', 'train_pipeline', 'test_pipeline'):
                yield value
            yield from config_pipelines(value)
    elif isinstance(node, (list, tuple)):
        flat = [t for t in node if isinstance(t, dict) and 'type' in t]
        if len(flat) == len(node) and flat:
            yield node
        for value in node:
            yield from config_pipelines(value)


def test_every_config_checks_after_loading_annotations():
    configs = [p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)]
    checked = 0
    for path in configs:
        cfg = Config.fromfile(path).to_dict()
        for pipeline in config_pipelines(cfg):
            items = list(pipeline)
            for i, step in enumerate(items):
                if isinstance(step, dict) and step.get('type') == 'LoadAnnotations':
                    after = items[i + 1] if i + 1 < len(items) else None
                    if after is None:  # TestTimeAug: [[LoadAnnotations], [CheckSegSample]]
                        continue
                    assert after.get('type') == 'CheckSegSample', (path, items)
                    checked += 1
                elif isinstance(step, list) and step == [dict(type='LoadAnnotations')]:
                    assert items[i + 1] == [dict(type='CheckSegSample')], (path, items)
                    checked += 1
    assert checked > 100


# ------------------------------------------------------------------- skip mode
class Records(logging.Handler):
    """Collects what MMEngine's current logger prints (its own stream may be stale)."""

    def __enter__(self):
        self.lines = []
        MMLogger.get_current_instance().addHandler(self)
        return self

    def __exit__(self, *exc):
        MMLogger.get_current_instance().removeHandler(self)

    def emit(self, record):
        self.lines.append(f'{record.levelname} - {record.getMessage()}')

    def text(self):
        return '\n'.join(self.lines)


def test_skip_mode_warns_counts_and_lists_at_the_end(tmp_path):
    build, root = ade_train(tmp_path, skip_bad_samples=True)
    dataset = build()
    path, _ = value_200(root)
    with Records() as log:
        for _ in range(3):
            sample = dataset[0]  # skipped: another (the good) sample comes instead
            assert sample['data_samples'].img_path == img(root, 1)
    skips = len(dataset.bad_samples())  # >= 3: the random refetch may draw it again
    assert [p for p, _ in dataset.bad_samples()] == [path] * skips and skips >= 3
    assert log.text().count('WARNING - skipping bad sample') == skips
    assert f'WARNING - skipping bad sample ({skips} so far): {path}' in log.text()
    runner = SimpleNamespace(_train_loop=SimpleNamespace(
        dataloader=SimpleNamespace(dataset=SimpleNamespace(datasets=[dataset]))))
    with Records() as log:
        BadSampleReportHook().after_run(runner)
    assert f'1 bad samples were skipped ({skips} times in all)' in log.text()
    assert f'{path} (skipped {skips}x): label values 199' in log.text()
    assert not osp.exists(dataset.bad_sample_log)  # the hook cleans up


def test_skip_mode_drops_missing_labels_and_keeps_validation_strict(tmp_path):
    build, root = ade_train(tmp_path, skip_bad_samples=True)
    os.remove(ann(root, 1))
    dataset = build()
    assert len(dataset) == 1 and dataset.bad_samples()[0][0] == img(root, 1)
    dataset.test_mode = True  # dropping a validation sample would change the metric
    value_200(root)
    with pytest.raises(DataSampleError):
        dataset[0]
    os.remove(dataset.bad_sample_log)


@pytest.mark.parametrize('skip', [False, True])
def test_full_check_up_front_in_two_processes(skip, tmp_path, capsys):
    build, root = ade_train(tmp_path, full_check=True, full_check_nproc=2,
                            skip_bad_samples=skip)
    path, _ = other_size(root)
    if not skip:
        with pytest.raises(DataSampleError) as error:
            build()
        assert '1 of 2 samples are bad' in str(error.value) and path in str(error.value)
        assert 'checking every pair' in capsys.readouterr().err  # the tqdm bar
        return
    dataset = build()
    assert len(dataset) == 1 and dataset.get_data_info(0)['img_path'] == img(root, 1)
    assert dataset.bad_samples()[0][0] == path
    os.remove(dataset.bad_sample_log)
    build, root = ade_train(tmp_path / 'val', full_check=True, skip_bad_samples=skip,
                            test_mode=True)
    other_size(root)
    with pytest.raises(DataSampleError):  # evaluation samples are never dropped
        build()


# ------------------------------------------------ the model's classes vs the data
def test_heads_with_fewer_classes_than_the_data_stop_before_training(tmp_path):
    build, _ = ade_train(tmp_path)
    dataset = build()

    def runner(decode, aux):
        model = SimpleNamespace(decode_head=SimpleNamespace(num_classes=decode),
                                auxiliary_head=torch.nn.ModuleList([torch.nn.Identity()]))
        model.auxiliary_head[0].num_classes = aux
        return SimpleNamespace(model=SimpleNamespace(module=model),  # as DDP wraps it
                               train_dataloader=SimpleNamespace(dataset=dataset))

    ClassCountCheckHook().before_train(runner(150, 150))
    with pytest.raises(ValueError) as error:
        ClassCountCheckHook().before_train(runner(150, 19))
    assert ('model.auxiliary_head.num_classes=19 but the training set PSPADE20KDataset has '
            '150 classes') in str(error.value)
    assert '--cfg-options model.auxiliary_head.num_classes=150' in str(error.value)
    with Records() as log:
        ClassCountCheckHook().before_train(runner(151, 150))
    assert 'model.decode_head.num_classes=151 but' in log.text() and 'never trained' in log.text()


# ------------------------------------------------------------- the check tool
def test_check_dataset_cfg_options_and_missing_labels(tmp_path, capsys):
    _, root = ade_train(tmp_path)
    os.remove(ann(root, 1))
    value_200(root)
    spec = importlib.util.spec_from_file_location(
        'check_dataset', osp.join(REPO, 'tools', 'check_dataset.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    capsys.readouterr()
    code = tool.main([osp.join(BASES, ADE), '--nproc', '2', '--cfg-options',
                      f'train_dataloader.dataset.data_root={root}',
                      "custom_imports.imports=['mmseg_psp_ext']"])
    out = capsys.readouterr()
    assert code == 1, out.out + out.err
    problems = [line for line in out.out.splitlines() if line.startswith('PROBLEM')]
    assert len(problems) == 2
    assert f'PROBLEM {ann(root, 0)}: label values 199 (15 px)' in problems[0]
    assert problems[1].startswith(f'PROBLEM {ann(root, 1)}: label map file does not exist')
    assert 'checking train' in out.err and '2/2' in out.err  # the progress bar


# --------------------------------------------------------------- a real run
@pytest.mark.slow  # ~25 s: one real training start, its data in a DataLoader worker
def test_train_stops_at_once_naming_the_bad_label(tmp_path):
    root = make_ade20k(str(tmp_path), np.random.default_rng(5))
    path, _ = value_200(root)
    path = osp.relpath(path, tmp_path)  # the config's data_root is relative
    base = osp.join(BASES, 'paper_ade20k-473x473.py')
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_CONFIG.format(
        base=base, runtime=osp.join(REPO, 'configs', '_base_', 'default_runtime.py'),
        schedule=osp.join(REPO, 'configs', '_base_', 'schedules', 'paper_schedule_150k.py'),
        crop=(473, 473), classes=150)
        + 'train_dataloader = dict(num_workers=1)\ntrain_cfg = dict(max_iters=2)\n')
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    run = subprocess.run(  # tools/train.py: what `mim train mmseg` runs, minus mim's start
        [sys.executable, osp.join(REPO, 'tools', 'train.py'), str(config), '--work-dir',
         'work'], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    log = run.stdout + run.stderr
    assert run.returncode != 0
    assert f'DataSampleError: {path}: label values 199 (15 px) (stored as 200)' in log, log[-3000:]
    assert TOOL_HINT in log
    assert 'Target' not in log and not glob.glob(str(tmp_path / 'work' / '*.pth'))
