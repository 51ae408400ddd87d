"""Colour masks, overlays and a legend of the classes present, drawn with OpenCV.

Images are BGR ``uint8`` (OpenCV's order); palettes are RGB, as in MMSegmentation's
dataset ``metainfo``.
"""
from typing import Optional, Sequence

import cv2
import numpy as np

LEGEND_WIDTH = 180  # pixels at a 512-pixel-high image; scaled with the image height
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def legend_scale(height: int) -> float:
    """Size factor of the legend text for an image ``height`` pixels high."""
    return max(1.0, height / 512)


def legend_width(height: int) -> int:
    """Width in pixels of the legend panel beside an image ``height`` pixels high."""
    return int(round(LEGEND_WIDTH * legend_scale(height)))


def colour_mask(labels: np.ndarray, palette: Sequence[Sequence[int]],
                ignore_index: int = 255) -> np.ndarray:
    """BGR image of ``labels`` (H, W) painted with the RGB ``palette``; ignored pixels black."""
    table = np.zeros((max(len(palette), ignore_index + 1, int(labels.max()) + 1), 3), np.uint8)
    table[:len(palette)] = np.asarray(palette, np.uint8)[:, ::-1]
    return table[labels]


def blend(image: np.ndarray, mask: np.ndarray, opacity: float) -> np.ndarray:
    """``image * (1 - opacity) + mask * opacity``, rounded to uint8."""
    if not 0 <= opacity <= 1:
        raise ValueError(f'opacity={opacity} must be in [0, 1]')
    mixed = image.astype(np.float32) * (1 - opacity) + mask.astype(np.float32) * opacity
    return np.clip(np.round(mixed), 0, 255).astype(np.uint8)


def _fit_text(text: str, max_width: int, scale: float, thickness: int) -> str:
    while text and cv2.getTextSize(text, _FONT, scale, thickness)[0][0] > max_width:
        text = text[:-2] + '.' if len(text) > 2 else ''
    return text


def draw_legend(labels: np.ndarray, classes: Sequence[str],
                palette: Sequence[Sequence[int]], height: int,
                ignore_index: int = 255) -> np.ndarray:
    """A white panel (height, legend_width(height), 3) listing the classes in ``labels``.

    One row per class present, largest pixel share first: colour swatch, name, share.
    Classes that do not fit are summed up in a last "+N more" row.
    """
    scale = legend_scale(height)
    width = legend_width(height)
    panel = np.full((height, width, 3), 255, np.uint8)
    valid = labels[labels != ignore_index]
    counts = np.bincount(valid.ravel(), minlength=len(classes)) if valid.size else \
        np.zeros(len(classes), np.int64)
    present = [int(c) for c in np.argsort(-counts, kind='stable') if counts[c] > 0]
    row = int(round(18 * scale))
    font = 0.42 * scale
    thick = max(1, int(round(scale)))
    pad = int(round(4 * scale))
    capacity = max(0, (height - pad) // row)
    shown = present if len(present) <= capacity else present[:max(0, capacity - 1)]
    total = max(int(labels.size), 1)
    for i, cls in enumerate(shown):
        y = pad + i * row
        colour = tuple(int(c) for c in np.asarray(palette[cls])[::-1]) if cls < len(
            palette) else (0, 0, 0)
        cv2.rectangle(panel, (pad, y), (pad + row - 5, y + row - 5), colour, -1)
        cv2.rectangle(panel, (pad, y), (pad + row - 5, y + row - 5), (0, 0, 0), 1)
        percent = 100 * counts[cls] / total
        share = f'{percent:.0f}%' if percent >= 0.5 else '<1%'
        share_w = cv2.getTextSize(share, _FONT, font, thick)[0][0]
        name_x = pad + row
        name = _fit_text(str(classes[cls]) if cls < len(classes) else str(cls),
                         width - name_x - share_w - 2 * pad, font, thick)
        baseline = y + row - int(round(7 * scale))
        cv2.putText(panel, name, (name_x, baseline), _FONT, font, (0, 0, 0), thick,
                    cv2.LINE_AA)
        cv2.putText(panel, share, (width - pad - share_w, baseline), _FONT, font,
                    (80, 80, 80), thick, cv2.LINE_AA)
    if len(shown) < len(present) and capacity > 0:
        y = pad + len(shown) * row
        cv2.putText(panel, f'+{len(present) - len(shown)} more', (pad, y + row - 7),
                    _FONT, font, (0, 0, 0), thick, cv2.LINE_AA)
    return panel


def render_overlay(image: np.ndarray, labels: np.ndarray, classes: Sequence[str],
                   palette: Sequence[Sequence[int]], opacity: float = 0.5,
                   ignore_index: int = 255,
                   mask: Optional[np.ndarray] = None) -> np.ndarray:
    """The image blended with its colour mask, the legend panel on the right.

    Args:
        image (np.ndarray): BGR uint8 image (H, W, 3).
        labels (np.ndarray): Class indices (H, W).
        classes (Sequence[str]): Class names.
        palette (Sequence[Sequence[int]]): RGB colour per class.
        opacity (float): Weight of the mask in the blend.
        ignore_index (int): Label drawn black and left out of the legend.
        mask (np.ndarray, optional): The colour mask, if already computed.

    Returns:
        np.ndarray: BGR uint8 (H, W + legend_width(H), 3).
    """
    if image.shape[:2] != labels.shape:
        raise ValueError(f'image {image.shape[:2]} and labels {labels.shape} differ in size')
    mask = colour_mask(labels, palette, ignore_index) if mask is None else mask
    legend = draw_legend(labels, classes, palette, image.shape[0], ignore_index)
    return np.concatenate([blend(image, mask, opacity), legend], axis=1)
