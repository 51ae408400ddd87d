"""Times the inspection of a folder (tools/folder_dataset.py) against decoding its masks once.

    python tools/benchmark_folder_dataset.py --num 2000 --size 512 --encoding rgb --repeats 3

Writes NUM image/mask pairs (JPEG images, PNG masks of random polygons in 8 classes:
RGB colours, or class indices) to a temporary folder, then alternates, REPEATS times:
decoding every mask once in this process (PIL, as the inspection reads them), and
``inspect_folder`` with 1 and with 2 processes (pairing, split, one read of every mask,
encoding decision, statistics). Prints the medians and their ratios to the decoding.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

from mmseg_psp_ext.datasets.folder import inspect_folder  # noqa: E402

COLOURS = np.array([(0, 0, 0), (200, 0, 0), (0, 160, 0), (0, 0, 220), (220, 220, 0),
                    (0, 200, 200), (180, 0, 180), (120, 120, 250)], np.uint8)


def write_folder(root: str, num: int, size: int, encoding: str) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    for i in range(num):
        labels = np.zeros((size, size), np.uint8)
        for cls in rng.integers(1, len(COLOURS), 6):
            points = rng.integers(0, size, (5, 2)).astype(np.int32)
            cv2.fillPoly(labels, [points], int(cls))
        mask = COLOURS[labels] if encoding == 'rgb' else labels
        cv2.imwrite(osp.join(root, 'images', f'{i:05d}.jpg'), image)
        Image.fromarray(mask).save(osp.join(root, 'masks', f'{i:05d}.png'))
    if encoding == 'rgb':
        with open(osp.join(root, 'classes.csv'), 'w') as f:
            f.writelines(f'c{i},{r},{g},{b}\n' for i, (r, g, b) in enumerate(COLOURS))
    else:
        with open(osp.join(root, 'classes.txt'), 'w') as f:
            f.writelines(f'c{i}\n' for i in range(len(COLOURS)))


def decode_all(root: str, num: int) -> float:
    start = time.perf_counter()
    for i in range(num):
        with Image.open(osp.join(root, 'masks', f'{i:05d}.png')) as mask:
            np.asarray(mask)
    return time.perf_counter() - start


def inspect(root: str, nproc: int) -> float:
    start = time.perf_counter()
    inspect_folder(root, nproc=nproc, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=2000)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--encoding', choices=['rgb', 'index'], default='rgb')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        for sub in ('images', 'masks'):
            os.makedirs(osp.join(root, sub))
        write_folder(root, args.num, args.size, args.encoding)
        times = {'decode': [], 'inspect 1 proc': [], 'inspect 2 procs': []}
        for _ in range(args.repeats):
            times['decode'].append(decode_all(root, args.num))
            times['inspect 1 proc'].append(inspect(root, 1))
            times['inspect 2 procs'].append(inspect(root, 2))
    decode = float(np.median(times['decode']))
    print(f'{args.num} masks of {args.size}x{args.size} ({args.encoding}), median of '
          f'{args.repeats}:')
    for name, values in times.items():
        median = float(np.median(values))
        print(f'  {name:16s} {median:7.2f} s  ({median / decode:.2f}x decoding once)')


if __name__ == '__main__':
    main()
