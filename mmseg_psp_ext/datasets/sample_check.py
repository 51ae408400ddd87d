"""What makes an image/label pair unusable, and the messages that say so.

Shared by the pipeline transform ``CheckSegSample`` (every sample, when it is loaded),
the datasets' optional full check before training, and ``tools/check_dataset.py``, so
that all three report a bad file in the same words.
"""
import os
import os.path as osp
from multiprocessing import current_process, get_context
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

#: The command the data error messages point to.
CHECK_TOOL_HINT = ('run `python tools/check_dataset.py CONFIG` (add --split val for the '
                   'validation set) to list every bad file at once')

JPEG_SUFFIXES = ('.jpg', '.jpeg', '.jpe', '.jfif')
JPEG_END = b'\xff\xd9'  # the end-of-image marker, which cannot occur in scan data
_TAIL_BYTES = 1 << 16


class DataSampleError(ValueError):
    """A bad dataset sample; the message names the file, what is wrong and the fix.

    One positional argument, so that PyTorch's DataLoader re-raises it from a worker
    process as the same type (with the worker's traceback as the message).

    Args:
        message (str): The full message (starts with the path).
        path (str): The file at fault.
    """

    def __init__(self, message: str, path: str = '') -> None:
        super().__init__(message)
        self.path = path

    def __reduce__(self):
        return type(self), (str(self), self.path)


def jpeg_is_truncated(path: Optional[str]) -> bool:
    """Whether a local JPEG file lacks its end-of-image marker (a cut-off download/copy).

    Images given as arrays (``img_path`` None, e.g. video frames) have no file to check.

    OpenCV decodes such a file without an error (the missing rows come out grey), so the
    marker is looked for in the last 64 KiB (room for trailing metadata some cameras add).
    """
    if not isinstance(path, str) or not path.lower().endswith(JPEG_SUFFIXES) \
            or not osp.isfile(path):
        return False
    size = osp.getsize(path)
    with open(path, 'rb') as f:
        f.seek(max(0, size - _TAIL_BYTES))
        tail = f.read()
    return JPEG_END not in tail.rstrip(b'\x00')


def truncated_jpeg_message(path: str) -> str:
    return (f'{path}: truncated JPEG (no end-of-image marker; the bottom of the image '
            'would be grey): copy or download the file again, or remove it and its label; '
            f'{CHECK_TOOL_HINT}')


def channels_message(seg_path: str, label: np.ndarray) -> Optional[str]:
    """The problem of a label map that is not one channel of class indices, or None."""
    if label.ndim == 2:
        return None
    if label.ndim == 3 and label.shape[2] in (3, 4):
        kind = 'RGBA' if label.shape[2] == 4 else 'RGB'
        if all(np.array_equal(label[..., 0], label[..., c]) for c in (1, 2)):
            fix = ('its colour channels are equal, so keep one: e.g. '
                   '`PIL.Image.open(f).convert("L").save(f)`')
        else:
            fix = ('a colour-coded label: convert it to class indices (map each colour '
                   'of the palette to its class index and save a single-channel "L" or '
                   'palette "P" PNG; for Cityscapes, tools/convert_cityscapes.py writes the '
                   '*_labelTrainIds.png maps)')
        return (f'{seg_path}: label map is {kind} ({label.shape[1]}x{label.shape[0]}x'
                f'{label.shape[2]}), expected one channel of class indices; {fix}; '
                f'{CHECK_TOOL_HINT}')
    return (f'{seg_path}: label map has shape {label.shape}, expected one channel of '
            f'class indices (height x width); {CHECK_TOOL_HINT}')


def size_message(seg_path: str, label_hw: Tuple[int, int], img_path: str,
                 img_hw: Tuple[int, int]) -> Optional[str]:
    """The problem of a label map whose size differs from its image's, or None."""
    if tuple(label_hw) == tuple(img_hw):
        return None
    return (f'{seg_path}: label map is {label_hw[1]}x{label_hw[0]} (width x height) but '
            f'its image {img_path} is {img_hw[1]}x{img_hw[0]}: the pair is misaligned (a '
            'label of another image, or a resized file); pair the right files or resize '
            f'the label with nearest-neighbour interpolation; {CHECK_TOOL_HINT}')


def values_message(seg_path: str, label: np.ndarray, num_classes: int, ignore_index: int,
                   reduce_zero_label: bool = False,
                   label_map: Optional[Dict[int, int]] = None) -> Optional[str]:
    """The problem of label values that are neither a class nor the ignore index, or None.

    Args:
        seg_path (str): The label file (for the message).
        label (np.ndarray): uint8 label map as ``LoadAnnotations`` leaves it, i.e. after
            ``reduce_zero_label`` and ``label_map``.
        num_classes (int): Valid classes are ``0 .. num_classes - 1``.
        ignore_index (int): The other valid value.
        reduce_zero_label (bool): Whether 1 was subtracted (for the message).
        label_map (dict, optional): The label map applied (for the message).
    """
    outside = label >= num_classes  # two byte-wise passes; no sort, no int64 copy
    if outside.any():
        outside &= label != ignore_index
    if not outside.any():
        return None
    counts = np.bincount(label[outside].ravel(), minlength=256)
    bad = np.flatnonzero(counts)
    found = ', '.join(f'{v} ({counts[v]} px)' for v in bad[:10].tolist())
    if len(bad) > 10:
        found += f', ... ({len(bad)} values)'
    steps = [s for s, on in (('reduce_zero_label', reduce_zero_label),
                             ('label_map', bool(label_map))) if on]
    after = f" after {' and '.join(steps)}" if steps else ''
    if reduce_zero_label and not label_map:
        found += f' (stored as {", ".join(str(v + 1) for v in bad[:10].tolist())})'
    fixes = [f'check that the dataset has {num_classes} classes and the model\'s '
             'decode_head/auxiliary_head num_classes match']
    if not reduce_zero_label and int(bad.max()) == num_classes:
        fixes.append('labels stored as 1..N with 0 = "other" need reduce_zero_label=True')
    fixes.append(CHECK_TOOL_HINT)
    return (f'{seg_path}: label values {found}{after} are outside the classes '
            f'0..{num_classes - 1} and are not the ignore index {ignore_index}: '
            + '; '.join(fixes))


def apply_label_conventions(label: np.ndarray, reduce_zero_label: bool,
                            label_map: Optional[Dict[int, int]]) -> np.ndarray:
    """``reduce_zero_label`` and ``label_map`` exactly as MMSegmentation's LoadAnnotations."""
    label = label.astype(np.uint8)
    if reduce_zero_label:
        label[label == 0] = 255
        label = label - 1
        label[label == 254] = 255
    if label_map:
        mapped = label.copy()
        for old_id, new_id in label_map.items():
            mapped[label == old_id] = new_id
        label = mapped
    return label


def check_pair(sample: dict) -> List[str]:
    """Reads one image/label pair from disk and returns its problems (one per file).

    Args:
        sample (dict): ``img_path``, ``seg_map_path`` (or None), ``reduce_zero_label``,
            ``label_map``, ``num_classes`` and ``ignore_index``.
    """
    import mmcv
    from mmengine.fileio import get

    problems = []
    img_path, seg_path = sample['img_path'], sample.get('seg_map_path')
    image = None
    try:
        image = mmcv.imfrombytes(get(img_path), flag='color', backend='cv2')
        if image is None:
            raise ValueError('not a decodable image')
        if jpeg_is_truncated(img_path):
            problems.append(truncated_jpeg_message(img_path))
    except Exception as error:
        problems.append(unreadable_message(img_path, 'image', error))
    if seg_path is None:
        return problems
    try:
        label = mmcv.imfrombytes(get(seg_path), flag='unchanged', backend='pillow')
        if label is None:
            raise ValueError('not a decodable image')
        label = label.squeeze()
    except Exception as error:
        problems.append(unreadable_message(seg_path, 'label map', error))
        return problems
    problem = channels_message(seg_path, label)
    if problem:
        return problems + [problem]
    if image is not None:
        problem = size_message(seg_path, label.shape, img_path, image.shape[:2])
        if problem:
            problems.append(problem)
    if label.dtype != np.uint8 and (label.max() > 255 or label.min() < 0):
        return problems + [
            f'{seg_path}: values {int(label.min())}..{int(label.max())} do not fit the 8-bit '
            'labels LoadAnnotations reads (a 16-bit PNG?): save class indices 0..255 as an '
            f'8-bit PNG; {CHECK_TOOL_HINT}']
    label = apply_label_conventions(label, sample['reduce_zero_label'], sample.get('label_map'))
    problem = values_message(seg_path, label, sample['num_classes'], sample['ignore_index'],
                             sample['reduce_zero_label'], sample.get('label_map'))
    return problems + ([problem] if problem else [])


def unreadable_message(path: str, what: str, error: BaseException) -> str:
    """An image or label file that cannot be read or decoded."""
    if isinstance(error, AssertionError):  # mmcv's LoadImageFromFile: decoder gave None
        reason = 'the decoder could not decode it'
    else:
        reason = f'{type(error).__name__}: {error}' if str(error) else type(error).__name__
    if not osp.exists(path):
        return f'{path}: {what} file does not exist ({reason}); {CHECK_TOOL_HINT}'
    return (f'{path}: unreadable {what} ({osp.getsize(path)} bytes; {reason}); the file is '
            'truncated, corrupt or not an image: copy or download it again, or remove the '
            f'pair; {CHECK_TOOL_HINT}')


def parallel_map(func: Callable[[Any], Any], items: Sequence[Any], nproc: int = 2,
                 desc: str = '', progress: bool = True, unit: str = 'item') -> List[Any]:
    """``[func(item) for item in items]`` in ``nproc`` processes, with a tqdm progress bar.

    Processes are forked where the platform allows (they keep the parent's imports;
    spawn would re-import torch in each); one process inside a daemon (e.g. a
    DataLoader worker), which cannot have children.

    Args:
        func (Callable): A picklable (module-level) function of one item.
        items (Sequence): The items.
        nproc (int): Processes; 1 runs in this process.
        desc (str): Label of the progress bar.
        progress (bool): Show the bar (on stderr).
        unit (str): Unit of the bar.

    Returns:
        list: The results, in the order of ``items``.
    """
    from tqdm import tqdm

    bar_args = dict(total=len(items), desc=desc, disable=not progress, unit=unit)
    nproc = max(1, min(int(nproc), len(items)))
    if current_process().daemon:
        nproc = 1
    if nproc == 1:
        return [func(item) for item in tqdm(items, **bar_args)]
    method = 'fork' if hasattr(os, 'fork') else 'spawn'
    with get_context(method).Pool(nproc) as pool:
        return list(tqdm(pool.imap(func, items, chunksize=8), **bar_args))


def check_pairs(samples: Sequence[dict], nproc: int = 2, desc: str = 'checking',
                progress: bool = True) -> List[str]:
    """``check_pair`` over many samples, in ``nproc`` processes, with a tqdm progress bar.

    Returns:
        list[str]: All problems, in the order of ``samples``.
    """
    found = parallel_map(check_pair, samples, nproc, desc, progress, unit='pair')
    return [problem for problems in found for problem in problems]


def summarise(items: Iterable[str], limit: int = 10) -> Tuple[str, int]:
    """The first ``limit`` items, one a line, and the count of all of them."""
    items = list(items)
    lines = '\n'.join(f'  {item}' for item in items[:limit])
    if len(items) > limit:
        lines += f'\n  ... and {len(items) - limit} more'
    return lines, len(items)
