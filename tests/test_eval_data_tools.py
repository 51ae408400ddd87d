"""The data tools (VOC aug, Cityscapes conversion, dataset check) on tiny files."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from cityscapesscripts.helpers.labels import labels, name2label
from PIL import Image
from scipy.io import savemat

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..'))


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_tool(name, *args, capsys=None):
    """Runs a tool's main() in this process (capsys given) or as a subprocess."""
    if capsys is not None:
        spec = importlib.util.spec_from_file_location(name[:-3], osp.join(REPO, 'tools', name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        capsys.readouterr()
        code = module.main([str(arg) for arg in args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', name), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{line}\n' for line in lines))


# ----------------------------------------------------------------- VOC aug
@pytest.fixture
def voc_sbd(tmp_path):
    rng = np.random.RandomState(0)
    voc = tmp_path / 'VOCdevkit' / 'VOC2012'
    sbd = tmp_path / 'benchmark_RELEASE' / 'dataset'
    (sbd / 'cls').mkdir(parents=True)
    (voc / 'SegmentationClass').mkdir(parents=True)
    write_lines(voc / 'ImageSets' / 'Segmentation' / 'train.txt', ['a', 'b', 'vo'])
    write_lines(voc / 'ImageSets' / 'Segmentation' / 'val.txt', ['v1', 'v2'])
    write_lines(sbd / 'train.txt', ['a', 'c', 'd', 'v1'])
    write_lines(sbd / 'val.txt', ['b', 'e'])
    masks = {}
    for name in ['a', 'b', 'c', 'd', 'e', 'v1']:
        masks[name] = rng.randint(0, 21, (7 + len(name), 9)).astype(np.uint8)
        savemat(str(sbd / 'cls' / f'{name}.mat'), {'GTcls': {
            'Segmentation': masks[name], 'Boundaries': np.zeros((21, 1), object),
            'CategoriesPresent': np.unique(masks[name])[None].astype(np.uint8)}})
    # a VOC-only train image: palette PNG with a 255 border
    voc_only = rng.randint(0, 21, (6, 8)).astype(np.uint8)
    voc_only[0] = 255
    image = Image.fromarray(voc_only, mode='P')
    image.putpalette(list(rng.randint(0, 255, 768)))
    image.save(voc / 'SegmentationClass' / 'vo.png')
    masks['vo'] = voc_only
    return tmp_path / 'VOCdevkit', tmp_path / 'benchmark_RELEASE', masks


def test_convert_voc_aug(voc_sbd, capsys):
    devkit, sbd, masks = voc_sbd
    result = run_tool('convert_voc_aug.py', devkit, sbd, capsys=capsys)
    assert result.returncode == 0, result.stderr
    out = devkit / 'VOC2012' / 'SegmentationClassAug'
    for name, mask in masks.items():
        np.testing.assert_array_equal(np.array(Image.open(out / f'{name}.png')), mask)
    splits = devkit / 'VOC2012' / 'ImageSets' / 'Segmentation'
    expected = sorted(({'a', 'b', 'vo'} | {'a', 'c', 'd', 'v1', 'b', 'e'}) - {'v1', 'v2'})
    assert (splits / 'trainaug.txt').read_text().split() == expected
    assert (splits / 'train_aug.txt').read_text().split() == expected
    assert (splits / 'aug.txt').read_text().split() == ['c', 'd', 'e']
    assert not [f for f in os.listdir(out) if f.endswith('.tmp')]


def test_convert_voc_aug_names_broken_mat(voc_sbd, capsys):
    devkit, sbd, _ = voc_sbd
    (sbd / 'dataset' / 'cls' / 'd.mat').write_bytes(b'not a mat file at all')
    savemat(str(sbd / 'dataset' / 'cls' / 'e.mat'), {'other': np.zeros((2, 2))})
    result = run_tool('convert_voc_aug.py', devkit, sbd, capsys=capsys)
    assert result.returncode == 1
    assert 'd.mat' in result.stderr or 'e.mat' in result.stderr, result.stderr
    assert 'Traceback' not in result.stderr
    out = devkit / 'VOC2012' / 'SegmentationClassAug'
    assert not (out / 'd.png').exists() and not (out / 'e.png').exists()
    assert not [f for f in os.listdir(out) if f.endswith('.tmp')]


# --------------------------------------------------------------- Cityscapes
def cityscapes_train_id(label_id):
    label = [lab for lab in labels if lab.id == label_id][0]
    return 255 if label.trainId in (-1, 255) else label.trainId


@pytest.fixture
def cityscapes(tmp_path):
    gt = tmp_path / 'gtFine'
    (gt / 'train' / 'aachen').mkdir(parents=True)
    (gt / 'val' / 'bonn').mkdir(parents=True)
    (gt / 'test' / 'berlin').mkdir(parents=True)
    # json: road over the lower half, a car rectangle, a person (two instances)
    polygons = dict(imgHeight=20, imgWidth=30, objects=[
        dict(label='road', polygon=[[0, 10], [29, 10], [29, 19], [0, 19]]),
        dict(label='car', polygon=[[2, 2], [12, 2], [12, 8], [2, 8]]),
        dict(label='person', polygon=[[20, 3], [25, 3], [25, 15], [20, 15]]),
        dict(label='person', polygon=[[26, 3], [28, 3], [28, 15], [26, 15]]),
    ])
    stem = gt / 'train' / 'aachen' / 'aachen_000000_000019_gtFine'
    (stem.parent / (stem.name + '_polygons.json')).write_text(json.dumps(polygons))
    # labelIds only (no json), every label id present, instance file kept as it is
    ids = np.array([lab.id for lab in labels if lab.id >= 0] * 6, np.uint8)[:6 * 34]
    ids = ids.reshape(6, 34)
    stem_val = gt / 'val' / 'bonn' / 'bonn_000001_000019_gtFine'
    Image.fromarray(ids).save(str(stem_val) + '_labelIds.png')
    instances = (ids.astype(np.uint16) * 1000 + 1)
    Image.fromarray(instances).save(str(stem_val) + '_instanceIds.png')
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(
        str(gt / 'test' / 'berlin' / 'berlin_000002_000019_gtFine') + '_labelIds.png')
    return tmp_path, ids, instances


def test_convert_cityscapes(cityscapes, capsys):
    root, ids, instances = cityscapes
    result = run_tool('convert_cityscapes.py', root, capsys=capsys)
    assert result.returncode == 0, result.stderr
    gt = root / 'gtFine'
    train = np.array(Image.open(gt / 'train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png'))
    assert train.shape == (20, 30)
    assert train[15, 5] == name2label['road'].trainId
    assert train[5, 7] == name2label['car'].trainId
    assert train[9, 22] == name2label['person'].trainId
    assert train[5, 16] == 255  # unlabelled background
    drawn = np.array(Image.open(gt / 'train/aachen/aachen_000000_000019_gtFine_instanceIds.png'))
    person = name2label['person'].id
    assert {drawn[9, 22], drawn[9, 27]} == {person * 1000, person * 1000 + 1}
    assert drawn[5, 7] == name2label['car'].id * 1000
    val = np.array(Image.open(gt / 'val/bonn/bonn_000001_000019_gtFine_labelTrainIds.png'))
    expected = np.vectorize(cityscapes_train_id)(ids)
    np.testing.assert_array_equal(val, expected)
    np.testing.assert_array_equal(
        np.array(Image.open(gt / 'val/bonn/bonn_000001_000019_gtFine_instanceIds.png')), instances)
    assert (root / 'train.txt').read_text().split() == ['aachen/aachen_000000_000019']
    assert (root / 'val.txt').read_text().split() == ['bonn/bonn_000001_000019']
    assert (root / 'test.txt').read_text().split() == ['berlin/berlin_000002_000019']


def test_convert_cityscapes_names_bad_files(cityscapes, capsys):
    root, ids, _ = cityscapes
    bad_ids = ids.copy()
    bad_ids[0, 0] = 200
    Image.fromarray(bad_ids).save(root / 'gtFine/val/bonn/bonn_000001_000019_gtFine_labelIds.png')
    result = run_tool('convert_cityscapes.py', root, capsys=capsys)
    assert result.returncode == 1
    assert 'bonn_000001_000019_gtFine_labelIds.png' in result.stderr and '200' in result.stderr

    (root / 'gtFine/train/aachen/aachen_000000_000019_gtFine_polygons.json').write_text('{"x"')
    result = run_tool('convert_cityscapes.py', root, capsys=capsys)
    assert result.returncode == 1
    assert 'aachen_000000_000019_gtFine_polygons.json' in result.stderr
    assert 'Traceback' not in result.stderr


# ------------------------------------------------------------ check_dataset
def make_ade_like(root, broken: bool):
    rng = np.random.RandomState(1)
    images, annotations = root / 'images' / 'training', root / 'annotations' / 'training'
    images.mkdir(parents=True)
    annotations.mkdir(parents=True)

    def pair(name, img_size, label_size, max_label=151):
        cv2.imwrite(str(images / f'{name}.jpg'), rng.randint(0, 255, (*img_size, 3), np.uint8))
        cv2.imwrite(str(annotations / f'{name}.png'),
                    rng.randint(0, max_label, label_size).astype(np.uint8))

    pair('good_1', (12, 16), (12, 16))
    pair('good_2', (9, 7), (9, 7))
    if broken:
        pair('wrong_size', (12, 16), (10, 16))
        pair('out_of_range', (8, 8), (8, 8), max_label=255)  # 151..254 are not ADE classes
        pair('unreadable', (8, 8), (8, 8))
        (images / 'unreadable.jpg').write_bytes(b'\x00garbage')
        pair('bad_label_file', (8, 8), (8, 8))
        (annotations / 'bad_label_file.png').write_bytes(b'garbage')


def write_config(path, data_root):
    path.write_text(
        "custom_imports = dict(imports=['mmseg_psp_ext'], allow_failed_imports=False)\n"
        f"train_dataloader = dict(dataset=dict(type='ConcatDataset', datasets=[dict(\n"
        f"    type='PSPADE20KDataset', data_root={str(data_root)!r}, reduce_zero_label=True,\n"
        "    data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),\n"
        "    pipeline=[])]))\n")


@pytest.mark.parametrize('broken', [False, True])
def test_check_dataset(tmp_path, broken, capsys):
    """The clean case in-process, the broken one through the command line (exit status)."""
    make_ade_like(tmp_path / 'ade', broken)
    write_config(tmp_path / 'cfg.py', tmp_path / 'ade')
    result = run_tool('check_dataset.py', tmp_path / 'cfg.py', '--split', 'train',
                      capsys=None if broken else capsys)
    problems = [line for line in result.stdout.splitlines() if line.startswith('PROBLEM')]
    if not broken:
        assert result.returncode == 0, result.stdout + result.stderr
        assert problems == []
        return
    assert result.returncode == 1, result.stdout + result.stderr
    text = '\n'.join(problems)
    assert 'annotations/training/wrong_size.png' in text and '16x10' in text
    assert 'annotations/training/out_of_range.png' in text
    assert 'images/training/unreadable.jpg' in text
    assert 'annotations/training/bad_label_file.png' in text
    assert 'good_' not in text
    assert len(problems) == 4


def test_check_dataset_missing_data(tmp_path, capsys):
    write_config(tmp_path / 'cfg.py', tmp_path / 'nowhere')
    result = run_tool('check_dataset.py', tmp_path / 'cfg.py', '--split', 'train',
                      capsys=capsys)
    assert result.returncode == 2
    assert 'nowhere' in result.stderr
