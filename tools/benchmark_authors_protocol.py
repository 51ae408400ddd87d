"""Time the authors' evaluation protocol (``test_cfg.mode='authors'``) on one image.

Reports the time of the MATLAB ``imresize`` calls (image and probability maps) against
``F.interpolate``, and, unless ``--resize-only``, one run of the whole protocol with a
random-weight model from a config, with the share of it spent resizing::

    python tools/benchmark_authors_protocol.py configs/converted/pspnet50_cityscapes_caffe.py \
        --size 1024 2048 --threads 2

Timings are medians over ``--repeat`` runs, alternating the compared variants.
"""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config of a model using PSPEncoderDecoder')
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 2048),
                        metavar=('HEIGHT', 'WIDTH'), help='image size (default 1024 2048)')
    parser.add_argument('--scale', type=float, default=1.0,
                        help='the one test scale to time (default 1.0)')
    parser.add_argument('--repeat', type=int, default=5, help='resize timings per variant')
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    parser.add_argument('--resize-only', action='store_true',
                        help='time the resizing only, not the network')
    return parser.parse_args()


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine import Config
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules

    import mmseg_psp_ext
    mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
    from mmseg_psp_ext.models.segmentors import psp_encoder_decoder as segmentor_module
    from mmseg_psp_ext.models.segmentors.matlab_imresize import imresize
    register_all_modules(init_default_scope=True)

    cfg = Config.fromfile(args.config)
    test_cfg = dict(cfg.model.test_cfg, scales=(args.scale, ))
    height, width = args.size
    long_side = test_cfg['base_size'] * args.scale + 1
    size = segmentor_module.matlab_scaled_size(height, width, long_side)
    classes = cfg.model.decode_head.num_classes
    rng = np.random.RandomState(0)
    image = torch.from_numpy(rng.randint(0, 256, (1, 3, height, width), np.uint8))
    probs = torch.rand(1, classes, *size)

    print(f'image {height}x{width} -> {size[0]}x{size[1]} (scale {args.scale}), '
          f'{classes} probability maps back to {height}x{width}, '
          f'{torch.get_num_threads()} threads, median of {args.repeat}')
    pairs = [
        ('image: MATLAB imresize (uint8)', lambda: imresize(image, size=size)),
        ('image: F.interpolate (float)', lambda: F.interpolate(
            image.float(), size=size, mode='bilinear', align_corners=False)),
        ('probabilities: MATLAB imresize', lambda: imresize(probs, size=(height, width))),
        ('probabilities: F.interpolate', lambda: F.interpolate(
            probs, size=(height, width), mode='bilinear', align_corners=False)),
    ]
    results = {name: [] for name, _ in pairs}
    for _ in range(args.repeat):  # alternate the variants on a noisy machine
        for name, fn in pairs:
            results[name].append(median_time(fn, 1))
    for name, times in results.items():
        print(f'  {name:34s} {statistics.median(times) * 1e3:8.1f} ms')
    if args.resize_only:
        return

    cfg.model.test_cfg = test_cfg
    model = MODELS.build(cfg.model).eval()
    spent = []
    original = segmentor_module.imresize

    def timed_imresize(*a, **kw):
        start = time.perf_counter()
        out = original(*a, **kw)
        spent.append(time.perf_counter() - start)
        return out

    segmentor_module.imresize = timed_imresize
    batch = dict(inputs=[image[0]],
                 data_samples=[SegDataSample(metainfo=dict(ori_shape=(height, width),
                                                           img_shape=(height, width)))])
    with torch.no_grad():
        start = time.perf_counter()
        model.test_step(batch)
        total = time.perf_counter() - start
    segmentor_module.imresize = original
    print(f'whole protocol ({cfg.model.backbone.get("depth", "?")}-layer backbone, random '
          f'weights): {total:.1f} s, of which MATLAB imresize {sum(spent):.2f} s '
          f'({100 * sum(spent) / total:.1f} %)')


if __name__ == '__main__':
    main()
