"""A user's folder end to end: tools/folder_dataset.py, a short fine-tune from a checkpoint
with another class count, and tools/infer.py writing labels in the user's own encoding."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from PIL import Image

from mmseg_psp_ext.datasets.folder.user_folder import USER_CLASSES, generate_user_folder

from test_folder_dataset import index_folder, labels_of, load_tool, write_pair

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = str(REPO / 'configs/demo/pspnet_r18_context_demo.py')


def demo_checkpoint(path: Path) -> Path:
    """A demo-model checkpoint (8 classes, random weights), as `make demo` would leave."""
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(DEMO_CONFIG).model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def folder_config(root: Path, out: Path, *extra: str) -> Config:
    assert load_tool('folder_dataset').main(
        [str(root), '--out', str(out), '--base', DEMO_CONFIG, '--iters', '2',
         '--batch-size', '2', '--num-workers', '0', '--no-progress', *extra]) == 0
    return Config.fromfile(str(out))


def random_checkpoint(cfg: Config, path: Path) -> Path:
    torch.manual_seed(1)
    model = MODELS.build(cfg.model)
    torch.nn.init.normal_(model.decode_head.conv_seg.weight, std=1.0)  # several classes
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def infer_labels(cfg_path: Path, checkpoint: Path, image: str, out: Path,
                 monkeypatch) -> Image.Image:
    monkeypatch.setattr(sys, 'argv', ['infer.py', str(cfg_path), str(checkpoint), image,
                                      '--out', str(out), '--device', 'cpu'])
    assert load_tool('infer').main() == 0
    return Image.open(out / 'labels' / (Path(image).stem + '.png'))


@pytest.mark.slow  # tools/train.py in a subprocess (runner start-up, 2 iterations, val)
def test_fine_tune_a_generated_user_folder_and_write_rgb_back(tmp_path, monkeypatch):
    root = tmp_path / 'photos'
    generate_user_folder(str(root), num_images=10, size=64, seed=3)
    cfg_path = tmp_path / 'photos_cfg.py'
    cfg = folder_config(root, cfg_path, '--load-from', str(demo_checkpoint(tmp_path / 'd.pth')),
                        '--crop-size', '64', '--val-fraction', '0.25')
    assert cfg.layout['val_fraction'] == 0.25
    work = tmp_path / 'work'
    # The written config is an ordinary one: MMSegmentation's own trainer through mim
    # (tools/train.py is tested on the same hook in test_finetune_load.py).
    mim = str(Path(sys.executable).parent / 'mim')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
    result = subprocess.run([mim, 'train', 'mmseg', str(cfg_path), '--work-dir', str(work)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert f'its classifiers have 8 classes, the model {len(USER_CLASSES)}' in log, log[-3000:]
    assert 'mIoU' in log
    checkpoint = work / 'iter_2.pth'
    assert checkpoint.is_file()
    image = sorted((root / 'images').iterdir())[0]
    labels = infer_labels(cfg_path, checkpoint, str(image), tmp_path / 'pred', monkeypatch)
    assert labels.mode == 'RGB' and labels.size == (64, 64)
    colours = {tuple(c) for c in np.asarray(labels).reshape(-1, 3).tolist()}
    assert colours <= {c for _, c in USER_CLASSES}  # the user's own colours, nothing else


@pytest.mark.parametrize('kind', ['binary', 'reduce_zero_label', 'palette'])
def test_infer_writes_each_encoding_back(tmp_path, monkeypatch, kind):
    root = tmp_path / 'data'
    extra = []
    if kind == 'binary':
        for i in range(4):
            write_pair(root, f'images/m{i}.jpg', f'masks/m{i}.png',
                       (labels_of(i, 2, 32) % 255 * 255).astype(np.uint8))
    elif kind == 'reduce_zero_label':
        index_folder(root, offset=1)
        extra = ['--classes', 'a', 'b', 'c']
    else:
        palette = [0, 0, 0, 250, 0, 0, 0, 250, 0, 0, 0, 250] + [0] * 756
        for i in range(4):
            labels = np.where(labels_of(i) == 255, 0, labels_of(i) + 1).astype(np.uint8)
            write_pair(root, f'images/p{i}.jpg', f'masks/p{i}.png', labels, palette=palette)
        extra = ['--classes', 'r', 'g', 'b']
    cfg_path = tmp_path / 'cfg.py'
    cfg = folder_config(root, cfg_path, *extra)
    checkpoint = random_checkpoint(cfg, tmp_path / 'r.pth')
    image = str(sorted((root / 'images').iterdir())[0])
    labels = infer_labels(cfg_path, checkpoint, image, tmp_path / 'pred', monkeypatch)
    values = set(np.unique(np.asarray(labels)).tolist())
    if kind == 'binary':
        assert labels.mode == 'L' and values <= {0, 255}
    elif kind == 'reduce_zero_label':
        assert labels.mode == 'L' and values <= {1, 2, 3}  # written as stored: 1..K
    else:
        assert labels.mode == 'P' and values <= {1, 2, 3}
        assert labels.getpalette()[3:12] == [250, 0, 0, 0, 250, 0, 0, 0, 250]
