"""Inspects a user's folder: pairs, split, classes, mask encoding and statistics.

Everything the config needs, decided before anything is written; every bad input stops
here with a message naming the files (see :class:`.layout.FolderDatasetError`).
"""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..sample_check import CHECK_TOOL_HINT, parallel_map, size_message
from .classes import ClassTable, read_classes
from .encoding import Decision, decide_encoding, map_histogram, value_to_class
from .layout import FolderDatasetError, refuse, Layout, find_layout
from .scan import scan_pair

SPLITS = ('train', 'val')


@dataclass
class Inspection:
    """The outcome of :func:`inspect_folder`.

    Args:
        layout (Layout): Pairs and split.
        table (ClassTable, optional): The class list given, if any.
        decision (Decision): Encoding, class names, palette and the reasons.
        pixels (dict): Split -> pixels per class (np.ndarray).
        images_with (dict): Split -> images containing each class (np.ndarray).
        ignored (dict): Split -> ignored pixels.
        sizes (dict): Pair key -> image (width, height).
    """
    layout: Layout
    table: Optional[ClassTable]
    decision: Decision
    pixels: Dict[str, np.ndarray] = field(default_factory=dict)
    images_with: Dict[str, np.ndarray] = field(default_factory=dict)
    ignored: Dict[str, int] = field(default_factory=dict)
    sizes: Dict[str, Tuple[int, int]] = field(default_factory=dict)

    @property
    def names(self) -> List[str]:
        return self.decision.names

    @property
    def encoding(self) -> dict:
        return self.decision.encoding

    def counts(self) -> Dict[str, int]:
        return {s: sum(p.split == s for p in self.layout.pairs) for s in SPLITS}

    def median_size(self) -> Tuple[int, int]:
        sizes = np.array(list(self.sizes.values()))
        return int(np.median(sizes[:, 0])), int(np.median(sizes[:, 1]))

    def default_crop_size(self, limit: int = 512) -> int:
        """The largest multiple of 8 up to ``limit`` that fits the median short side."""
        return max(8, min(limit, min(self.median_size())) // 8 * 8)

    def class_weights(self, clip: float = 10.0) -> List[float]:
        """Median-frequency balancing of the training pixels: ``median(f) / f_c``.

        Classes absent from training get the largest weight (``clip``); weights are
        clipped to ``[1/clip, clip]``.
        """
        freq = self.pixels['train'] / max(1, self.pixels['train'].sum())
        present = freq[freq > 0]
        median = float(np.median(present)) if present.size else 1.0
        weights = np.where(freq > 0, median / np.maximum(freq, 1e-12), clip)
        return [round(float(w), 4) for w in np.clip(weights, 1 / clip, clip)]

    def oddities(self) -> List[str]:
        """Things that are legal but likely wrong."""
        found = []
        train, val = self.pixels['train'], self.pixels['val']
        for i, name in enumerate(self.names):
            if train[i] == 0 and val[i] == 0:
                found.append(f'class {name!r} has no pixel in any mask (an empty class)')
            elif train[i] == 0:
                found.append(f'class {name!r} is in val but not in train: the model cannot '
                             'learn it')
        areas = {key: w * h for key, (w, h) in self.sizes.items()}
        median = float(np.median(list(areas.values())))
        big = [k for k, a in areas.items() if a > 4 * median]
        for key in big[:5]:
            w, h = self.sizes[key]
            found.append(f'{key}: {w}x{h}, much larger than the rest (median '
                         f'{self.median_size()[0]}x{self.median_size()[1]})')
        if len(big) > 5:
            found.append(f'... and {len(big) - 5} more images much larger than the rest')
        return found

    def report(self) -> str:
        """The report printed by ``tools/folder_dataset.py``."""
        lay, counts = self.layout, self.counts()
        sizes = np.array(list(self.sizes.values()))
        lines = [f'Folder {lay.root}',
                 f'  images/masks: {lay.images or "(per split)"}/ and '
                 f'{lay.masks or "(per split)"}/; split by '
                 + {'outer': 'train/ and val/ folders around them',
                    'inner': 'train/ and val/ folders inside them',
                    'lists': 'list files ' + ', '.join(lay.list_files.values()),
                    'hash': f'a hash of the name (val fraction {lay.val_fraction})'}[lay.split_by],
                 f"  pairs: {len(lay.pairs)} (train {counts['train']}, val {counts['val']})",
                 f'  images without a mask: {len(lay.unpaired_images)}; masks without an '
                 f'image: {len(lay.unpaired_masks)}'
                 + (f'; in no list file: {len(lay.unlisted)}' if lay.unlisted else ''),
                 f'  sizes (w x h): min {sizes[:, 0].min()}x{sizes[:, 1].min()}, median '
                 f'{self.median_size()[0]}x{self.median_size()[1]}, max '
                 f'{sizes[:, 0].max()}x{sizes[:, 1].max()}',
                 'Mask encoding: ' + self.encoding['kind']
                 + (' (reduce_zero_label)' if self.encoding.get('reduce_zero_label') else '')]
        lines += [f'  {reason}' for reason in self.decision.reasons]
        lines.append(f'Classes ({len(self.names)}'
                     + (f', from {self.table.source})' if self.table else ', from the masks)'))
        width = max(len(n) for n in self.names)
        lines.append(f"  {'class':<{width}}  train px  train img    val px  val img")
        totals = {s: max(1, int(self.pixels[s].sum())) for s in SPLITS}
        for i, name in enumerate(self.names):
            lines.append(
                f"  {name:<{width}}  {100 * self.pixels['train'][i] / totals['train']:7.2f}%"
                f"  {self.images_with['train'][i]:9d}"
                f"  {100 * self.pixels['val'][i] / totals['val']:7.2f}%"
                f"  {self.images_with['val'][i]:7d}")
        ignored = sum(self.ignored.values())
        if ignored:
            total = ignored + sum(int(self.pixels[s].sum()) for s in SPLITS)
            lines.append(f'  ignored (unlabelled) pixels: {100 * ignored / total:.2f}%')
        odd = self.oddities()
        lines.append('Oddities: ' + ('none' if not odd else ''))
        lines += [f'  {item}' for item in odd]
        return '\n'.join(lines)


def inspect_folder(root: str, classes: Optional[Sequence[str]] = None,
                   images: Optional[str] = None, masks: Optional[str] = None,
                   val_fraction: float = 0.1, reduce_zero_label: Optional[bool] = None,
                   ignore_index: int = 255, max_colours: int = 32,
                   allow_unpaired: bool = False, nproc: int = 2,
                   progress: bool = True) -> Inspection:
    """Finds the pairs, reads every mask once (in ``nproc`` processes) and decides.

    Args:
        root (str): The user's folder.
        classes (Sequence[str], optional): Class names (else the folder's class file).
        images (str, optional): Image folder name (default: looked for).
        masks (str, optional): Mask folder name (default: looked for).
        val_fraction (float): Validation share when the folder gives no split.
        reduce_zero_label (bool, optional): Whether 0 means "unlabelled", when the masks
            and class list cannot tell.
        ignore_index (int): The "unlabelled" value of index masks.
        max_colours (int): Most colours taken as classes without a class list.
        allow_unpaired (bool): Leave out images without a mask and masks without an
            image instead of stopping.
        nproc (int): Processes reading the masks.
        progress (bool): Show a progress bar.

    Returns:
        Inspection: What was found and decided.

    Raises:
        FolderDatasetError: Any bad input, naming the files and the fix.
    """
    layout = find_layout(root, images, masks, val_fraction)
    table = read_classes(layout.root, classes)
    if not allow_unpaired and (layout.unpaired_images or layout.unpaired_masks):
        problems = ([f'{p}: image without a mask' for p in layout.unpaired_images]
                    + [f'{p}: mask without an image' for p in layout.unpaired_masks])
        refuse(problems, 'Files without a partner (pairs are matched by name, any '
                'suffix); add the missing file, remove the file, or pass --allow-unpaired '
                'to leave them out')
    if not layout.pairs:
        raise FolderDatasetError(f'{layout.root}: no image has a mask with the same name')
    for split in SPLITS:
        if not any(p.split == split for p in layout.pairs):
            raise FolderDatasetError(f'{layout.root}: no {split} pair ({layout.split_by} '
                                     'split); put at least one pair in each split')
    scans = parallel_map(scan_pair, [(p.key, p.image, p.mask) for p in layout.pairs],
                         nproc, desc='reading masks', progress=progress, unit='mask')
    problems = [problem for s in scans for problem in s['problems']]
    by_key = {p.key: p for p in layout.pairs}
    for s in scans:
        if s['image_size'] and s['mask_size'] and s['image_size'] != s['mask_size']:
            pair = by_key[s['key']]
            message = size_message(pair.mask, s['mask_size'][::-1], pair.image,
                                   s['image_size'][::-1])
            problems.append(message.replace(f'; {CHECK_TOOL_HINT}', ''))
    if problems:
        refuse(problems, 'Bad files')
    decision = decide_encoding(scans, table, reduce_zero_label, ignore_index, max_colours)
    inspection = Inspection(layout, table, decision)
    k = len(decision.names)
    lookup = value_to_class(decision.encoding)
    for split in SPLITS:
        inspection.pixels[split] = np.zeros(k, np.int64)
        inspection.images_with[split] = np.zeros(k, np.int64)
        inspection.ignored[split] = 0
    for s in scans:
        split = by_key[s['key']].split
        counts, ignored, _ = map_histogram(s['hist'], lookup, k)
        inspection.pixels[split] += counts
        inspection.images_with[split] += counts > 0
        inspection.ignored[split] += ignored
        inspection.sizes[s['key']] = tuple(s['image_size'])
    return inspection
