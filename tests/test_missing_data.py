"""The documented real-data command, without the data, stops with a useful message."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mim_train_without_ade20k_names_the_missing_folder_and_the_fix(tmp_path):
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    mim = Path(sys.executable).with_name('mim')
    proc = subprocess.run(
        [str(mim), 'train', 'mmseg', str(REPO / 'configs/pspnet_r50_ade20k.py'),
         '--work-dir', str(tmp_path / 'work')],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    expected = tmp_path / 'data/ade/ADEChallengeData2016/images/training'
    assert "FileNotFoundError: PSPADE20KDataset: no dataset" in log
    assert str(expected) in log
    assert 'ADEChallengeData2016.zip' in log
    assert not list((tmp_path / 'work').rglob('*.pth'))


def _ade20k(root: Path, images: int) -> None:
    import cv2
    import numpy as np
    for sub in ('images/training', 'annotations/training'):
        (root / sub).mkdir(parents=True)
    for i in range(images):
        cv2.imwrite(str(root / f'images/training/ADE_train_{i:08d}.jpg'),
                    np.zeros((8, 8, 3), np.uint8))
        cv2.imwrite(str(root / f'annotations/training/ADE_train_{i:08d}.png'),
                    np.ones((8, 8), np.uint8))


def _build(root: Path):
    from mmseg.registry import DATASETS
    return DATASETS.build(dict(
        type='PSPADE20KDataset', data_root=str(root), pipeline=[],
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training')))


def test_dataset_check_names_missing_annotations(tmp_path):
    (tmp_path / 'images/training').mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as err:
        _build(tmp_path)
    message = str(err.value)
    assert f"annotations folder {tmp_path / 'annotations/training'}" in message
    assert 'images folder' not in message


def test_dataset_check_refuses_an_empty_folder(tmp_path):
    _ade20k(tmp_path, images=0)
    with pytest.raises(FileNotFoundError, match=r"no images ending in '\.jpg'"):
        _build(tmp_path)


def test_dataset_check_passes_a_real_layout(tmp_path):
    _ade20k(tmp_path, images=3)
    dataset = _build(tmp_path)
    assert len(dataset) == 3
    assert dataset[0]['seg_map_path'].endswith('ADE_train_00000000.png')
