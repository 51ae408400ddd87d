"""Evaluation pictures: per-class IoU bars and the confusion matrix.

Both come from one confusion matrix ``cm`` whose entry ``cm[t, p]`` counts the evaluated
pixels of ground-truth class ``t`` predicted as class ``p`` (ignored pixels left out), so
``IoU[k] = cm[k, k] / (sum(cm[k, :]) + sum(cm[:, k]) - cm[k, k])`` exactly as
MMSegmentation's ``IoUMetric`` computes it.
"""
from typing import Optional, Sequence

import numpy as np

from mmseg_psp_ext.utils.atomic_io import atomic_write


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class IoU (0..1) from a confusion matrix; NaN for classes absent from both.

    Args:
        cm (np.ndarray): (K, K) counts, rows ground truth, columns prediction.

    Returns:
        np.ndarray: (K,) float64 IoU per class.
    """
    cm = np.asarray(cm, np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f'a confusion matrix is square, got shape {cm.shape}')
    tp = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, tp / union, np.nan)


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _save(fig, out_file: str) -> None:
    atomic_write(out_file, lambda f: fig.savefig(f, format='png', dpi=100))


def plot_class_iou(iou: np.ndarray, classes: Sequence[str], out_file: str,
                   title: Optional[str] = None) -> None:
    """Horizontal bar chart of the IoU (%) of every class, with mIoU marked.

    Args:
        iou (np.ndarray): (K,) IoU per class, 0..1, NaN where undefined.
        classes (Sequence[str]): Class names.
        out_file (str): PNG to write (atomically).
        title (str, optional): Title; defaults to the mIoU.
    """
    if len(iou) != len(classes):
        raise ValueError(f'{len(iou)} IoU values for {len(classes)} classes')
    plt = _pyplot()
    percent = 100 * np.asarray(iou, np.float64)
    miou = np.nanmean(percent) if np.isfinite(percent).any() else float('nan')
    height = max(2.5, 0.22 * len(classes) + 1.2)
    fig, ax = plt.subplots(figsize=(6, height))
    y = np.arange(len(classes))
    ax.barh(y, np.nan_to_num(percent), color='tab:blue')
    for i, value in enumerate(percent):
        ax.text((0 if np.isnan(value) else value) + 1, i,
                'n/a' if np.isnan(value) else f'{value:.1f}', va='center', fontsize=7)
    ax.axvline(miou, color='tab:red', linestyle='--', linewidth=1)
    ax.set_yticks(y, [str(c) for c in classes], fontsize=7 if len(classes) > 30 else 9)
    ax.set_ylim(len(classes) - 0.5, -0.5)  # first class on top, no empty margin
    ax.set_xlim(0, 105)
    ax.set_xlabel('IoU (%)')
    ax.set_title(title or f'Per-class IoU (mIoU {miou:.2f}, dashed line)')
    fig.tight_layout()
    _save(fig, out_file)
    plt.close(fig)


def plot_confusion_matrix(cm: np.ndarray, classes: Sequence[str], out_file: str,
                          title: str = 'Confusion matrix (rows: ground truth, % of row)'
                          ) -> None:
    """Confusion matrix normalised by ground truth: each row sums to 100%.

    Class names and cell values are printed for up to 30 classes; larger sets (ADE20K's
    150) are drawn as a heat map only.

    Args:
        cm (np.ndarray): (K, K) counts, rows ground truth, columns prediction.
        classes (Sequence[str]): Class names.
        out_file (str): PNG to write (atomically).
        title (str): Figure title.
    """
    cm = np.asarray(cm, np.float64)
    if cm.shape != (len(classes), len(classes)):
        raise ValueError(f'confusion matrix {cm.shape} does not match {len(classes)} classes')
    plt = _pyplot()
    rows = cm.sum(1, keepdims=True)
    percent = np.divide(100 * cm, rows, out=np.zeros_like(cm), where=rows > 0)
    num = len(classes)
    side = min(16.0, max(4.5, 0.45 * num + 2.5))
    fig, ax = plt.subplots(figsize=(side + 1, side))
    image = ax.imshow(percent, cmap='Blues', vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label='% of ground-truth pixels')
    if num <= 30:
        ticks = np.arange(num)
        ax.set_xticks(ticks, [str(c) for c in classes], rotation=60, ha='right', fontsize=8)
        ax.set_yticks(ticks, [str(c) for c in classes], fontsize=8)
        for t in range(num):
            for p in range(num):
                if percent[t, p] >= 0.05:
                    ax.text(p, t, f'{percent[t, p]:.1f}', ha='center', va='center',
                            fontsize=6 if num > 12 else 8,
                            color='white' if percent[t, p] > 50 else 'black')
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    _save(fig, out_file)
    plt.close(fig)
