"""A generated scene-parsing set where an object's class depends on the scene around it.

Every image shows one scene (water, road, grass or sky) and one or two large objects. The
objects are drawn from one shared distribution of shapes, sizes, colours and textures,
whatever the scene: the same object is a boat on water, a car on a road, a cow on grass
and an airplane in the sky. Its own pixels therefore say nothing about its class; only the
surroundings do, and the objects are large, so the centre of an object is far from any
background pixel. A network needs image-level context to label it, which is what the
pyramid pooling module of PSPNet adds to a dilated FCN.

The files follow ADE20K's layout (``images/{training,validation}/*.jpg``,
``annotations/{training,validation}/*.png``, label 0 = "other", ignored through
``reduce_zero_label=True``), so the same loading code serves both.
"""
import json
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np
from tqdm import tqdm
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .data_root_check import DataRootCheckMixin
from ..utils.atomic_io import atomic_folder

#: Scene types; the index is also the scene's class label minus 1.
CONTEXTS = ('water', 'road', 'grass', 'sky')
#: What the shared object is called in each scene, same order as ``CONTEXTS``.
OBJECT_NAMES = ('boat', 'car', 'cow', 'airplane')
CLASSES = CONTEXTS + OBJECT_NAMES
#: RGB colours of the classes in masks and figures.
PALETTE = ((40, 90, 200), (110, 110, 110), (60, 170, 60), (150, 210, 250),
           (250, 150, 30), (220, 30, 60), (140, 80, 30), (250, 250, 80))
OTHER_LABEL = 0  # ADE20K's "other": small clutter, ignored in training and scoring


def context_label(context: int) -> int:
    """The label (1-based, as stored in the PNG) of scene ``context``."""
    return 1 + context


def object_label(context: int) -> int:
    """The label (1-based) an object gets in scene ``context``."""
    return 1 + len(CONTEXTS) + context


def _smooth_noise(rng: np.random.Generator, size: int, cell: int) -> np.ndarray:
    """Value noise in [-1, 1]: a coarse random grid, bicubically upsampled."""
    coarse = rng.uniform(-1, 1, (size // cell + 2, size // cell + 2)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC), -1, 1)


def _background(context: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """An RGB float image of scene ``context``; each scene has its own local texture."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    jitter = rng.uniform(-12, 12, 3).astype(np.float32)
    grain = rng.normal(0, 4, (size, size, 1)).astype(np.float32)
    name = CONTEXTS[context]
    if name == 'water':  # deep blue, horizontal ripples
        phase = rng.uniform(0, 2 * np.pi)
        freq = rng.uniform(18, 26)
        ripples = np.sin(freq * 2 * np.pi * yy + 3 * _smooth_noise(rng, size, 16) + phase)
        img = np.array([30, 80, 150], np.float32) + 28 * ripples[..., None] * [0.6, 0.9, 1]
    elif name == 'road':  # dark asphalt grain with white dashed lane marks
        img = np.array([95, 95, 98], np.float32) + rng.normal(0, 14, (size, size, 1))
        lane_y = int(rng.uniform(0.2, 0.8) * size)
        dash, offset = int(rng.integers(8, 14)), int(rng.integers(0, 20))
        on = ((np.arange(size) + offset) // dash) % 2 == 0
        band = slice(max(lane_y - 1, 0), lane_y + 2)
        img[band, on] = 235
    elif name == 'grass':  # green with short vertical blades
        blades = cv2.blur(rng.normal(0, 1, (size, size)).astype(np.float32), (1, 7))
        img = np.array([70, 150, 55], np.float32) + 60 * blades[..., None] * [0.5, 1, 0.4]
        img += 12 * _smooth_noise(rng, size, 32)[..., None]
    else:  # sky: smooth vertical gradient with soft clouds
        cloud = np.clip(_smooth_noise(rng, size, 24), 0, 1) ** 2
        img = (np.array([110, 170, 235], np.float32) * (1 - 0.35 * yy[..., None])
               + 140 * cloud[..., None])
    return np.clip(img + jitter + grain, 0, 255)


def _object_layer(rng: np.random.Generator, size: int,
                  scale: Tuple[float, float]) -> Tuple[np.ndarray, np.ndarray]:
    """One object: (RGB float texture, bool mask). Independent of the scene by design."""
    cx, cy = rng.uniform(0.3, 0.7, 2) * size
    ax, ay = rng.uniform(*scale, 2) * size
    angle = rng.uniform(0, 180)
    mask = np.zeros((size, size), np.uint8)
    if rng.random() < 0.5:
        cv2.ellipse(mask, (int(cx), int(cy)), (int(ax), int(ay)), angle, 0, 360, 1, -1)
    else:
        box = cv2.boxPoints(((cx, cy), (2 * ax, 2 * ay), angle))
        cv2.fillPoly(mask, [np.round(box).astype(np.int32)], 1)
    colours = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    period = rng.uniform(5, 10)
    theta = rng.uniform(0, np.pi)
    u = (xx * np.cos(theta) + yy * np.sin(theta)) / period
    v = (-xx * np.sin(theta) + yy * np.cos(theta)) / period
    pattern = ((np.floor(u) + np.floor(v)) % 2 if rng.random() < 0.5 else np.floor(u) % 2)
    texture = colours[0] + pattern[..., None] * (colours[1] - colours[0])
    return texture, mask.astype(bool)


def render_scene(context: int, object_seed, background_seed,
                 size: int = 256) -> Tuple[np.ndarray, np.ndarray]:
    """Draws one scene of type ``context``.

    The objects and clutter come from ``object_seed`` alone and the scene texture from
    ``background_seed`` alone, so one ``object_seed`` under the four scenes gives
    pixel-identical objects that are labelled boat, car, cow or airplane.

    Args:
        context (int): Index into ``CONTEXTS``.
        object_seed: Seed (int or sequence) of ``numpy.random.default_rng`` for the objects.
        background_seed: Seed of the scene texture.
        size (int): Side of the square image in pixels.

    Returns:
        tuple[np.ndarray, np.ndarray]: RGB ``uint8`` image (size, size, 3) and the
        ``uint8`` label map (0 other, 1..8 as in ``CLASSES``).
    """
    if not 0 <= context < len(CONTEXTS):
        raise ValueError(f'context={context} is not an index into {CONTEXTS}')
    if size < 32:
        raise ValueError(f'size={size} is too small for the scenes (at least 32)')
    obj_rng = np.random.default_rng(object_seed)
    img = _background(context, np.random.default_rng(background_seed), size)
    label = np.full((size, size), context_label(context), np.uint8)
    num_objects = 1 + int(obj_rng.random() < 0.35)
    for i in range(num_objects):
        # The first object is large (its centre is 50+ pixels, 6+ cells at output stride 8, from the scene at 256 px).
        texture, mask = _object_layer(obj_rng, size, (0.22, 0.36) if i == 0 else (0.1, 0.18))
        img[mask] = texture[mask]
        label[mask] = object_label(context)
    for _ in range(int(obj_rng.integers(0, 3))):  # small unlabelled clutter ("other")
        centre = tuple(int(c) for c in obj_rng.uniform(0.05, 0.95, 2) * size)
        radius = int(obj_rng.integers(2, max(3, size // 32) + 1))
        grey = float(obj_rng.uniform(0, 255))
        cv2.circle(img, centre, radius, (grey, grey, grey), -1)
        cv2.circle(label, centre, radius, OTHER_LABEL, -1)
    return np.round(img).astype(np.uint8), label


def _sample_seeds(seed: int, split: int, index: int):
    """Independent seeds for the objects and the scene texture of one sample."""
    return (seed, split, index, 0), (seed, split, index, 1)


SPLITS = ('training', 'validation')


def generate_context_demo(out_dir: str,
                          num_train: int = 400,
                          num_val: int = 100,
                          size: int = 256,
                          seed: int = 0,
                          overwrite: bool = False,
                          progress: bool = False) -> Dict[str, int]:
    """Writes the dataset in ADE20K's layout, atomically.

    Everything is written to a temporary folder next to ``out_dir`` and renamed into
    place at the end, so an interrupted run leaves no half dataset at ``out_dir``.
    Scenes are balanced: sample ``i`` shows scene ``i % 4``. The output depends only on
    the arguments.

    Args:
        out_dir (str): Dataset root to create (``images/`` and ``annotations/`` inside);
            it must not exist or be an empty folder, unless ``overwrite``.
        num_train (int): Training images.
        num_val (int): Validation images.
        size (int): Image side in pixels.
        seed (int): Seed of the whole set.
        overwrite (bool): Replace an existing ``out_dir``; otherwise it is an error.
        progress (bool): Show a progress bar per split (tqdm, on stderr).

    Returns:
        dict[str, int]: Number of images written per split.
    """
    if num_train < 1 or num_val < 1:
        raise ValueError(f'num_train={num_train} and num_val={num_val} must be positive')
    with atomic_folder(out_dir, overwrite) as tmp:
        counts = {}
        for split_id, (split, count) in enumerate(zip(SPLITS, (num_train, num_val))):
            img_dir = osp.join(tmp, 'images', split)
            ann_dir = osp.join(tmp, 'annotations', split)
            os.makedirs(img_dir)
            os.makedirs(ann_dir)
            for index in tqdm(range(count), desc=f'context demo {split}', unit='img',
                              disable=not progress):
                obj_seed, bg_seed = _sample_seeds(seed, split_id, index)
                img, label = render_scene(index % len(CONTEXTS), obj_seed, bg_seed, size)
                name = f'context_{split}_{index:05d}'
                if not cv2.imwrite(osp.join(img_dir, name + '.jpg'),
                                   cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_JPEG_QUALITY, 95]):
                    raise OSError(f'could not write {osp.join(img_dir, name)}.jpg')
                if not cv2.imwrite(osp.join(ann_dir, name + '.png'), label):
                    raise OSError(f'could not write {osp.join(ann_dir, name)}.png')
            counts[split] = count
        with open(osp.join(tmp, 'meta.json'), 'w') as f:
            json.dump(dict(classes=CLASSES, palette=PALETTE, size=size, seed=seed,
                           counts=counts), f, indent=1)
    return counts


@DATASETS.register_module()
class ContextDemoDataset(DataRootCheckMixin, BaseSegDataset):
    """The generated context scene-parsing set (see :func:`generate_context_demo`).

    ADE20K's layout: ``data_root/images/{training,validation}/*.jpg`` and
    ``data_root/annotations/{training,validation}/*.png``. Label 0 ("other") becomes 255
    (ignored) through ``reduce_zero_label=True``; the 8 classes become 0..7.
    """

    METAINFO = dict(classes=CLASSES, palette=[list(c) for c in PALETTE])
    prepare_hint = ('Generate it with: python tools/generate_context_demo.py '
                    'data/context_demo (or run tools/demo.py, which does it).')

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = True,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
