"""Label maps to pictures: colour masks, overlays, legends and per-class pixel shares.

One implementation for every tool that shows a prediction (``tools/web_demo.py``,
``tools/infer.py``, the demo figure). Images are RGB ``uint8`` arrays of shape (H, W, 3);
label maps are integer arrays of shape (H, W) holding class indices, where any value
outside ``0..len(palette)-1`` (such as the ignore index 255) counts as "no class": it is
drawn in ``ignore_color`` in masks, left as it is in overlays and left out of legends.
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

Color = Tuple[int, int, int]

LEGEND_WIDTH = 180  # side panel width at an image 512 pixels high; scaled with the height
_FONT = cv2.FONT_HERSHEY_SIMPLEX


class ClassShare(NamedTuple):
    """One class present in a label map."""

    index: int  #: class index in the label map
    name: str  #: class name
    pixels: int  #: number of pixels with this class
    share: float  #: fraction of all pixels of the map (0..1)


def as_palette(palette: Sequence[Sequence[int]]) -> np.ndarray:
    """Checks a palette and returns it as a (K, 3) ``uint8`` array.

    Args:
        palette (Sequence[Sequence[int]]): K RGB colours, each 3 values in 0..255.

    Returns:
        np.ndarray: The palette, shape (K, 3), dtype ``uint8``.
    """
    array = np.asarray(palette)
    if array.ndim != 2 or array.shape[1] != 3 or len(array) == 0:
        raise ValueError(f'a palette is a list of RGB triples, got shape {array.shape}')
    if array.min() < 0 or array.max() > 255:
        raise ValueError(f'palette values must lie in 0..255, got {array.min()}..{array.max()}')
    return array.astype(np.uint8)


def _check_label(label: np.ndarray) -> np.ndarray:
    label = np.asarray(label)
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f'a label map is a 2-D integer array, got {label.dtype} {label.shape}')
    return label


def colorize(label: np.ndarray, palette: Sequence[Sequence[int]],
             ignore_color: Color = (0, 0, 0)) -> np.ndarray:
    """Paints each pixel of a label map in its class colour.

    Args:
        label (np.ndarray): (H, W) integer class indices.
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        ignore_color (tuple[int, int, int]): Colour of pixels without a class.
            Defaults to black.

    Returns:
        np.ndarray: (H, W, 3) ``uint8`` RGB colour mask.
    """
    label = _check_label(label)
    colours = as_palette(palette)
    out = np.empty(label.shape + (3, ), np.uint8)
    out[:] = ignore_color
    valid = (label >= 0) & (label < len(colours))
    out[valid] = colours[label[valid]]
    return out


def overlay(image: np.ndarray, label: np.ndarray, palette: Sequence[Sequence[int]],
            opacity: float = 0.5) -> np.ndarray:
    """Blends the colour mask of ``label`` over ``image``.

    ``out = (1 - opacity) * image + opacity * colour`` on pixels with a class, rounded to
    the nearest integer; pixels without a class keep the image's colour.

    Args:
        image (np.ndarray): (H, W, 3) ``uint8`` RGB image.
        label (np.ndarray): (H, W) integer class indices, same height and width.
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        opacity (float): Weight of the mask, 0 (image only) to 1 (mask only).
            Defaults to 0.5.

    Returns:
        np.ndarray: (H, W, 3) ``uint8`` RGB overlay.
    """
    label = _check_label(label)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'an image is an (H, W, 3) uint8 array, got {image.dtype} {image.shape}')
    if image.shape[:2] != label.shape:
        raise ValueError(f'image {image.shape[:2]} and label map {label.shape} differ in size')
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f'opacity must lie in [0, 1], got {opacity}')
    colours = as_palette(palette)
    valid = (label >= 0) & (label < len(colours))
    blended = image.astype(np.float32)
    mask = colours[label[valid]].astype(np.float32)
    blended[valid] = (1.0 - opacity) * blended[valid] + opacity * mask
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def class_shares(label: np.ndarray, classes: Sequence[str]) -> List[ClassShare]:
    """The classes present in a label map with their pixel counts, largest first.

    Args:
        label (np.ndarray): (H, W) integer class indices.
        classes (Sequence[str]): Class names, indexed like the label map.

    Returns:
        list[ClassShare]: One entry per class present; ``share`` is the fraction of all
        pixels of the map (pixels without a class are counted in the total but listed
        nowhere, so shares can sum to less than 1).
    """
    label = _check_label(label)
    valid = label[(label >= 0) & (label < len(classes))]
    counts = np.bincount(valid.ravel(), minlength=len(classes))
    total = max(label.size, 1)
    shares = [ClassShare(int(i), str(classes[i]), int(counts[i]), float(counts[i] / total))
              for i in np.flatnonzero(counts)]
    return sorted(shares, key=lambda s: (-s.pixels, s.index))


def legend_scale(height: int) -> float:
    """Size factor of the side legend beside an image ``height`` pixels high (at least 1)."""
    return max(1.0, height / 512)


def legend_width(height: int) -> int:
    """Width in pixels of the side legend beside an image ``height`` pixels high."""
    return int(round(LEGEND_WIDTH * legend_scale(height)))


def _fit_text(text: str, max_width: int, scale: float, thickness: int) -> str:
    """``text``, shortened with a trailing '.' until it is at most ``max_width`` wide."""
    while text and cv2.getTextSize(text, _FONT, scale, thickness)[0][0] > max_width:
        text = text[:-2] + '.' if len(text) > 2 else ''
    return text


def draw_legend(entries: Sequence[Tuple[str, Sequence[int]]], width: int,
                row_height: int = 20, min_column_width: int = 150,
                height: Optional[int] = None) -> np.ndarray:
    """Draws colour swatches with their labels, in rows of as many columns as fit ``width``.

    Without ``height`` the legend grows to hold every entry (a legend under an image).
    With ``height`` it is a fixed panel (a legend beside an image): entries that do not
    fit are summed up in a last "+N more" row. Texts too wide for their column are
    shortened.

    Args:
        entries (Sequence[tuple[str, Sequence[int]]]): (text, RGB colour) pairs.
        width (int): Width of the legend in pixels.
        row_height (int): Height of one row in pixels; the text scales with it.
            Defaults to 20.
        min_column_width (int): Narrowest column; fewer columns are used on narrow
            legends. Defaults to 150.
        height (int, optional): Fixed height of the legend. Defaults to None (as many
            rows as the entries need).

    Returns:
        np.ndarray: (rows * row_height, width, 3), or (height, width, 3), ``uint8`` RGB
        image on white (height 0 for no entries and no fixed height).
    """
    if width <= 0:
        raise ValueError(f'legend width must be positive, got {width}')
    if row_height < 8:
        raise ValueError(f'legend row_height must be at least 8 pixels, got {row_height}')
    columns = max(1, min(len(entries), width // min_column_width)) if entries else 1
    rows = (len(entries) + columns - 1) // columns
    shown, hidden = list(entries), 0
    if height is not None:
        capacity = columns * (height // row_height)
        if len(entries) > capacity:
            shown, hidden = shown[:max(0, capacity - 1)], len(entries) - max(0, capacity - 1)
    legend = np.full((rows * row_height if height is None else height, width, 3), 255,
                     np.uint8)
    col_width = width // columns
    swatch = max(row_height - 8, 4)
    scale = row_height / 50.0
    thickness = max(1, int(round(row_height / 36)))
    for i, (text, colour) in enumerate(shown):
        x = (i % columns) * col_width + 4
        y = (i // columns) * row_height + (row_height - swatch) // 2
        rgb = tuple(int(c) for c in colour)
        cv2.rectangle(legend, (x, y), (x + swatch, y + swatch), rgb, -1)
        cv2.rectangle(legend, (x, y), (x + swatch, y + swatch), (0, 0, 0), 1)
        text = _fit_text(str(text), col_width - swatch - 13, scale, thickness)
        cv2.putText(legend, text, (x + swatch + 5, y + swatch - 1), _FONT, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
    if hidden and len(shown) < (legend.shape[0] // row_height) * columns:
        i = len(shown)
        x = (i % columns) * col_width + 4
        y = (i // columns) * row_height + (row_height - swatch) // 2
        cv2.putText(legend, f'+{hidden} more', (x, y + swatch - 1), _FONT, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
    return legend


def legend_entries(label: np.ndarray, classes: Sequence[str],
                   palette: Sequence[Sequence[int]],
                   with_shares: bool = True) -> List[Tuple[str, Color]]:
    """Legend entries for the classes present in ``label``, largest first.

    Args:
        label (np.ndarray): (H, W) integer class indices.
        classes (Sequence[str]): Class names.
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        with_shares (bool): Append the pixel share ("sky 41.2%"). Defaults to True.

    Returns:
        list[tuple[str, tuple[int, int, int]]]: (text, colour) pairs for
        :func:`draw_legend`.
    """
    colours = as_palette(palette)
    if len(colours) < len(classes):
        raise ValueError(f'the palette has {len(colours)} colours for {len(classes)} classes')
    return [(f'{s.name} {100 * s.share:.1f}%' if with_shares else s.name,
             tuple(int(c) for c in colours[s.index]))
            for s in class_shares(label, classes)]


def overlay_with_legend(image: np.ndarray, label: np.ndarray, classes: Sequence[str],
                        palette: Sequence[Sequence[int]], opacity: float = 0.5,
                        with_shares: bool = True, position: str = 'right') -> np.ndarray:
    """:func:`overlay` with a legend of the classes present, largest first.

    ``position='right'`` puts a panel :func:`legend_width` (H) wide beside the image, so
    that the size depends on the image size only (video frames keep one size);
    ``'below'`` puts rows of columns under it, as many rows as the classes need.

    Args:
        image (np.ndarray): (H, W, 3) ``uint8`` RGB image.
        label (np.ndarray): (H, W) integer class indices.
        classes (Sequence[str]): Class names.
        palette (Sequence[Sequence[int]]): RGB colour of each class.
        opacity (float): Weight of the mask. Defaults to 0.5.
        with_shares (bool): Show each class's pixel share. Defaults to True.
        position (str): ``'right'`` or ``'below'``. Defaults to ``'right'``.

    Returns:
        np.ndarray: ``uint8`` RGB image, (H, W + legend_width(H), 3) for ``'right'``,
        (H + legend height, W, 3) for ``'below'``; its top-left (H, W) part is exactly
        ``overlay(image, label, palette, opacity)``.
    """
    if position not in ('right', 'below'):
        raise ValueError(f"position must be 'right' or 'below', got {position!r}")
    blended = overlay(image, label, palette, opacity)
    entries = legend_entries(label, classes, palette, with_shares)
    if position == 'below':
        legend = draw_legend(entries, width=blended.shape[1])
        return np.concatenate([blended, legend], axis=0)
    height = blended.shape[0]
    row_height = int(round(20 * legend_scale(height)))
    legend = draw_legend(entries, width=legend_width(height), row_height=row_height,
                         min_column_width=legend_width(height), height=height)
    return np.concatenate([blended, legend], axis=1)


def default_palette(num_classes: int, seed: Optional[int] = 0) -> np.ndarray:
    """Distinct-looking random colours for datasets without a palette.

    Args:
        num_classes (int): Number of colours.
        seed (int, optional): Random seed, so that colours are stable. Defaults to 0.

    Returns:
        np.ndarray: (num_classes, 3) ``uint8`` palette.
    """
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(num_classes, 3)).astype(np.uint8)
