"""Times CheckSegSample against loading the image/label pair it checks (random data).

    python tools/benchmark_data_check.py --size 1024 2048 --repeats 15

Prints the median time to load a JPEG image and a PNG label (``LoadImageFromFile`` +
``LoadAnnotations(reduce_zero_label=True)``), the median time of ``CheckSegSample`` on the
loaded sample (ADE20K's 150 classes, ignore index 255) and their ratio.
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 2048),
                        metavar=('HEIGHT', 'WIDTH'))
    parser.add_argument('--repeats', type=int, default=15)
    args = parser.parse_args()
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations

    from mmseg_psp_ext import quiet_framework_logs
    from mmseg_psp_ext.datasets import CheckSegSample
    quiet_framework_logs()  # known-harmless framework warnings, see the docs

    rng = np.random.default_rng(0)
    height, width = args.size
    with tempfile.TemporaryDirectory() as tmp:
        img, seg = osp.join(tmp, 'a.jpg'), osp.join(tmp, 'a.png')
        cv2.imwrite(img, rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        cv2.imwrite(seg, rng.integers(0, 151, (height, width), dtype=np.uint8))
        load = [LoadImageFromFile(), LoadAnnotations(reduce_zero_label=True)]
        check = CheckSegSample()
        load_times, check_times = [], []
        for _ in range(args.repeats):
            results = dict(img_path=img, seg_map_path=seg, reduce_zero_label=True,
                           seg_fields=[], num_classes=150, ignore_index=255)
            start = time.perf_counter()
            for transform in load:
                results = transform(results)
            loaded = time.perf_counter()
            check(results)
            load_times.append(loaded - start)
            check_times.append(time.perf_counter() - loaded)
    load_ms, check_ms = np.median(load_times) * 1e3, np.median(check_times) * 1e3
    print(f'{width}x{height}: loading the pair {load_ms:.1f} ms, CheckSegSample '
          f'{check_ms:.2f} ms (median of {args.repeats}), ratio {check_ms / load_ms:.4f}')


if __name__ == '__main__':
    main()
