"""A generated "user folder": the context scenes as a labelling tool would export them.

``images/*.jpg`` and ``masks/*.png`` with RGB colour masks and a ``classes.csv`` of names
and colours, no split (the folder tools choose one). The classes differ from the demo
set's: the four scenes, ``vehicle`` (the boat, car and airplane of the demo) and
``animal`` (its cow); the demo's unlabelled clutter is black, listed as ``ignore``. So a
model trained on the demo set (``make demo``) knows the scenes but not these classes:
the case of fine-tuning a checkpoint on one's own data.
"""
import os
import os.path as osp
from typing import Tuple

import cv2
import numpy as np
from tqdm import tqdm

from ...utils.atomic_io import atomic_folder
from ..context_demo import CONTEXTS, render_scene

#: (name, RGB colour) of the classes, in index order.
USER_CLASSES: Tuple[Tuple[str, Tuple[int, int, int]], ...] = (
    ('water', (40, 90, 200)), ('road', (128, 64, 128)), ('grass', (60, 170, 60)),
    ('sky', (150, 210, 250)), ('vehicle', (220, 30, 60)), ('animal', (140, 80, 30)))
IGNORE_COLOUR = (0, 0, 0)
#: Demo label (1-based, 0 = other) -> user class index, -1 = ignore.
_DEMO_TO_USER = np.array([-1, 0, 1, 2, 3, 4, 4, 5, 4])


def user_colour_mask(demo_label: np.ndarray) -> np.ndarray:
    """The RGB colour mask (H, W, 3) of a demo label map."""
    colours = np.array([c for _, c in USER_CLASSES] + [IGNORE_COLOUR], np.uint8)
    return colours[_DEMO_TO_USER[demo_label]]


def generate_user_folder(out_dir: str, num_images: int = 120, size: int = 256,
                         seed: int = 1, overwrite: bool = False,
                         progress: bool = False) -> int:
    """Writes the folder (to a temporary folder renamed into place at the end).

    Args:
        out_dir (str): The folder to create; must not exist (or be empty) unless
            ``overwrite``.
        num_images (int): Image/mask pairs.
        size (int): Image side in pixels.
        seed (int): Seed (the default differs from the demo set's 0: other scenes).
        overwrite (bool): Replace an existing ``out_dir``.
        progress (bool): Show a progress bar.

    Returns:
        int: The number of pairs written.
    """
    if num_images < 2:
        raise ValueError(f'num_images={num_images}: at least 2 (one for each split)')
    with atomic_folder(out_dir, overwrite) as tmp:
        os.makedirs(osp.join(tmp, 'images'))
        os.makedirs(osp.join(tmp, 'masks'))
        for index in tqdm(range(num_images), desc='user folder', unit='img',
                          disable=not progress):
            img, label = render_scene(index % len(CONTEXTS), (seed, 7, index, 0),
                                      (seed, 7, index, 1), size)
            name = f'photo_{index:04d}'
            if not cv2.imwrite(osp.join(tmp, 'images', name + '.jpg'),
                               cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise OSError(f'could not write {name}.jpg')
            mask = cv2.cvtColor(user_colour_mask(label), cv2.COLOR_RGB2BGR)
            if not cv2.imwrite(osp.join(tmp, 'masks', name + '.png'), mask):
                raise OSError(f'could not write {name}.png')
        with open(osp.join(tmp, 'classes.csv'), 'w') as f:
            f.write('name,r,g,b\n')
            for name, (r, g, b) in USER_CLASSES:
                f.write(f'{name},{r},{g},{b}\n')
            f.write('ignore,{},{},{}\n'.format(*IGNORE_COLOUR))
    return num_images
