"""Running a segmentor on one image for the picture-making tools."""
from typing import List, Tuple

import numpy as np
import torch

from .overlay import as_palette, default_palette


def model_classes_palette(model: torch.nn.Module) -> Tuple[List[str], np.ndarray]:
    """Class names and palette of a segmentor, with fallbacks when it has none.

    They come from the model's ``dataset_meta`` (the checkpoint's
    ``meta['dataset_meta']`` or the config's dataset, as ``mmseg.apis.init_model`` and
    :func:`~mmseg_psp_ext.deploy.loading.load_segmentor` set it). Class names that do not
    match the number of outputs are replaced by "class 0", "class 1", ...; a palette with
    too few colours by :func:`default_palette` (seeded, so stable).

    Args:
        model (torch.nn.Module): A segmentor, with a ``dataset_meta`` attribute and/or a
            ``decode_head`` with ``num_classes``.

    Returns:
        tuple[list[str], np.ndarray]: Class names and a (K, 3) ``uint8`` RGB palette.
    """
    meta = getattr(model, 'dataset_meta', None) or {}
    num_classes = model.decode_head.num_classes if hasattr(model, 'decode_head') else None
    classes = list(meta.get('classes') or [])
    if not classes or (num_classes is not None and len(classes) != num_classes):
        if num_classes is None:
            raise ValueError('the model has neither dataset_meta["classes"] nor a decode_head')
        classes = [f'class {i}' for i in range(num_classes)]
    palette = meta.get('palette')
    palette = as_palette(palette) if palette is not None and len(palette) >= len(classes) \
        else default_palette(len(classes))
    return classes, palette


def predict_label(model: torch.nn.Module, image_rgb: np.ndarray) -> np.ndarray:
    """Predicted class index of every pixel of an RGB image.

    Args:
        model (torch.nn.Module): A segmentor with its config as ``model.cfg``
            (:func:`~mmseg_psp_ext.deploy.loading.load_segmentor` or
            ``mmseg.apis.init_model``); its test pipeline and ``test_cfg`` (whole, slide
            or the authors' protocol) apply, as in ``tools/infer.py``.
        image_rgb (np.ndarray): (H, W, 3) ``uint8`` RGB image.

    Returns:
        np.ndarray: (H, W) ``int64`` label map at the image's size.
    """
    from ..deploy.predictor import SegPredictor
    image_rgb = np.asarray(image_rgb)
    if image_rgb.ndim == 2:
        image_rgb = np.repeat(image_rgb[:, :, None], 3, axis=2)
    if image_rgb.ndim != 3 or image_rgb.shape[2] not in (3, 4):
        raise ValueError(f'expected an (H, W, 3) RGB image, got shape {image_rgb.shape}')
    # OpenMMLab pipelines take BGR arrays, as cv2.imread gives them.
    bgr = np.ascontiguousarray(image_rgb[:, :, 2::-1])
    return SegPredictor(model).labels(bgr)
