"""Calibration images for post-training quantization, as the model's test pipeline sees them.

The images come from the config's training set (or a folder); each goes through the
config's test pipeline and the model's data preprocessor, so the quantizer sees the same
normalised tensors the exported graph gets at inference.
"""
import copy
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS

from ..utils.image_files import IMAGE_EXTENSIONS, find_images
from .loading import inner_dataset_cfg
from .predictor import test_pipeline_cfg


class CalibrationError(ValueError):
    """Calibration images that cannot be used (none found, wrong channel count)."""


def dataset_image_paths(cfg, split: str = 'train') -> List[str]:
    """Image files of the config's ``{split}_dataloader`` dataset, in its order.

    Args:
        cfg (Config): The model config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        list[str]: The ``img_path`` of every sample.
    """
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        raise CalibrationError(f'the config has no {split}_dataloader.dataset to take '
                               'calibration images from; pass --calib-dir')
    dataset_cfg = copy.deepcopy(inner_dataset_cfg(loader['dataset']))
    dataset_cfg['pipeline'] = []
    dataset = DATASETS.build(dataset_cfg)
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def folder_image_paths(folder: str) -> List[str]:
    """Image files under ``folder``; :class:`CalibrationError` if there are none."""
    if not osp.isdir(folder):
        raise CalibrationError(f'calibration folder {folder!r} does not exist')
    paths = [str(p) for p in find_images(folder)]
    if not paths:
        raise CalibrationError(f'calibration folder {folder!r} has no images '
                               f'({", ".join(IMAGE_EXTENSIONS)})')
    return paths


def pick_evenly(paths: Sequence[str], count: int) -> List[str]:
    """``count`` paths spread evenly over ``paths`` (all of them if there are fewer)."""
    if count < 1:
        raise CalibrationError(f'--calib-images must be at least 1, got {count}')
    if count >= len(paths):
        return list(paths)
    index = np.linspace(0, len(paths) - 1, count).round().astype(int)
    return [paths[i] for i in index]


def check_channels(paths: Sequence[str], channels: int = 3) -> None:
    """Stops on an unreadable image or one with another channel count than the model's.

    Args:
        paths (Sequence[str]): Image files.
        channels (int): Channels the model takes.
    """
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if image is None:
            raise CalibrationError(f'calibration image {path!r} is not a readable image')
        found = 1 if image.ndim == 2 else image.shape[2]
        if found != channels:
            raise CalibrationError(f'calibration image {path!r} has {found} channel(s), the '
                                   f'model takes {channels} (colour images)')


class CalibrationInputs:
    """Normalised inputs (1, 3, H, W) of image files, made on demand (re-iterable).

    Args:
        model (nn.Module): A segmentor with ``cfg`` (from ``load_segmentor``).
        paths (Sequence[str]): Image files.
        size (tuple[int, int], optional): Resize the normalised input to (H, W), for a
            graph of fixed size; None keeps the test pipeline's size.
    """

    def __init__(self, model: nn.Module, paths: Sequence[str],
                 size: Optional[Tuple[int, int]] = None) -> None:
        self.model = model
        self.paths = list(paths)
        self.size = tuple(size) if size else None
        self.pipeline = Compose(test_pipeline_cfg(model.cfg))

    def __len__(self) -> int:
        return len(self.paths)

    def normalise(self, path: str) -> np.ndarray:
        """The data preprocessor's output for one image file, float32 (1, 3, H, W)."""
        batch = pseudo_collate([self.pipeline(dict(img_path=path))])
        with torch.no_grad():
            inputs = self.model.data_preprocessor(batch, False)['inputs'].float()
        if self.size and tuple(inputs.shape[2:]) != self.size:
            inputs = F.interpolate(inputs, size=self.size, mode='bilinear',
                                   align_corners=False)
        return np.ascontiguousarray(inputs.cpu().numpy(), dtype=np.float32)

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.normalise(path) for path in self.paths)


def generated_scene_inputs(model: nn.Module, count: int, size: int) -> List[np.ndarray]:
    """Normalised inputs (1, 3, size, size) of generated demo scenes, for models without data.

    Args:
        model (nn.Module): A segmentor; its data preprocessor normalises the scenes.
        count (int): How many scenes (the four scene types in turn).
        size (int): Side of the square scenes.

    Returns:
        list[np.ndarray]: float32 arrays.
    """
    from ..datasets.context_demo import CONTEXTS, render_scene
    inputs = []
    for index in range(count):
        rgb = render_scene(index % len(CONTEXTS), index, 1000 + index, size=size)[0]
        bgr = torch.from_numpy(np.ascontiguousarray(rgb[:, :, ::-1])).permute(2, 0, 1)
        data = dict(inputs=[bgr.contiguous()], data_samples=None)
        with torch.no_grad():
            normalised = model.data_preprocessor(data, False)['inputs'].float()
        inputs.append(np.ascontiguousarray(normalised.cpu().numpy(), dtype=np.float32))
    return inputs
