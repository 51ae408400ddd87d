"""Exports a segmentor to ONNX (torch's dynamo exporter) and checks it with ONNX Runtime.

    python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--size H W | --dynamic]
        [--opset 18] [--no-verify] [--image IMG] [--openvino] [--cfg-options k=v ...]

The graph takes the normalised image (after the config's data preprocessor: mean/std,
BGR->RGB), float32 (N, 3, H, W), and returns float32 logits (N, num_classes, H, W);
argmax over axis 1 gives the labels. The batch size is always dynamic; H and W are fixed
to ``--size`` (default: the config's test crop size, else 512x512) or dynamic with
``--dynamic``. ``--verify`` (on by default) runs ONNX Runtime and PyTorch on a real image
(``--image``, else a generated scene) and prints the max absolute and relative
difference; ``--openvino`` also checks OpenVINO (f32) on the same file. Exit status 1 if a
relative difference exceeds ``--tolerance``.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the plugin, uninstalled

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

import mmseg_psp_ext  # noqa: E402,F401  (registers the plugin)
from mmseg_psp_ext.deploy import build_backend, export_onnx  # noqa: E402
from mmseg_psp_ext.deploy.loading import CheckpointError, load_segmentor  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file (or URL)')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help='fixed input height and width (default: the test crop '
                        'size of the config, else 512 512); with --dynamic, the size '
                        'the graph is traced and first verified at')
    parser.add_argument('--dynamic', action='store_true',
                        help='dynamic input height and width')
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset (>= 18)')
    parser.add_argument('--verify', action=argparse.BooleanOptionalAction, default=True,
                        help='compare ONNX Runtime with PyTorch on a real image')
    parser.add_argument('--image', help='image for --verify (default: a generated scene)')
    parser.add_argument('--openvino', action='store_true',
                        help='also verify with OpenVINO (f32)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='largest relative difference --verify accepts')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, as key=value pairs')
    return parser.parse_args()


def default_size(cfg) -> tuple:
    """The test crop size of a sliding-window config, else 512x512."""
    crop = cfg.model.get('test_cfg', {}).get('crop_size')
    return tuple(int(s) for s in crop) if crop else (512, 512)


def verification_image(path: str, size: tuple) -> np.ndarray:
    """A BGR uint8 image of ``size`` (H, W): ``path`` resized, or a generated scene."""
    if path:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f'--image {path!r} is not a readable image')
    else:
        from mmseg_psp_ext.datasets.context_demo import render_scene
        image = cv2.cvtColor(render_scene(2, 0, 0, size=max(size))[0], cv2.COLOR_RGB2BGR)
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def normalise(model, image: np.ndarray) -> torch.Tensor:
    """The data preprocessor's output for one BGR image, shape (1, 3, H, W)."""
    data = dict(inputs=[torch.from_numpy(image).permute(2, 0, 1).contiguous()],
                data_samples=None)
    with torch.no_grad():
        return model.data_preprocessor(data, False)['inputs'].float()


def verify(model, onnx_file: str, image_path: str, sizes, backends, tolerance: float) -> bool:
    eager = build_backend('eager', model=model)
    ok = True
    for name in backends:
        run = build_backend(name, onnx_file)
        for size in sizes:
            inputs = normalise(model, verification_image(image_path, size))
            start = time.time()
            ref = eager(inputs)
            out = run(inputs)
            abs_diff = float(np.abs(out - ref).max())
            rel_diff = abs_diff / max(float(np.abs(ref).max()), 1e-12)
            agree = float((out.argmax(1) == ref.argmax(1)).mean())
            passed = rel_diff <= tolerance
            ok &= passed
            print(f'[verify] {name} vs PyTorch at {size[0]}x{size[1]}: max abs diff '
                  f'{abs_diff:.3g}, relative diff {rel_diff:.3g}, pixel agreement '
                  f'{agree:.2%} ({time.time() - start:.1f} s) '
                  f'{"OK" if passed else f"FAILED (tolerance {tolerance:g})"}',
                  flush=True)
    return ok


@torch.no_grad()  # not set_grad_enabled: main() also runs in-process (tests)
def main() -> int:
    mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
    args = parse_args()
    start = time.time()
    print(f'[1/3] loading {args.config} with {args.checkpoint}', flush=True)
    try:
        model = load_segmentor(args.config, args.checkpoint, 'cpu', args.cfg_options)
    except (CheckpointError, FileNotFoundError) as err:
        print(f'export_onnx: {err}', file=sys.stderr)
        return 2
    size = tuple(args.size) if args.size else default_size(model.cfg)
    what = f'dynamic H and W (traced at {size[0]}x{size[1]})' if args.dynamic else \
        f'{size[0]}x{size[1]}'
    print(f'[2/3] exporting to {args.out}: {what}, opset {args.opset} (the dynamo '
          'exporter takes from about 30 s for a small model to minutes for R101)',
          flush=True)
    export_start = time.time()
    export_onnx(model, args.out, size=size, dynamic=args.dynamic, opset=args.opset,
                verbose=None)
    print(f'      wrote {args.out} ({osp.getsize(args.out) / 2**20:.1f} MiB) in '
          f'{time.time() - export_start:.0f} s', flush=True)
    if not args.verify:
        print('[3/3] verification skipped (--no-verify)')
        return 0
    sizes = [size]
    if args.dynamic:  # a second, odd and non-square size shows the graph follows the input
        sizes.append((size[0] * 3 // 4 + 1, size[1] + 5))
    backends = ['onnxruntime'] + (['openvino'] if args.openvino else [])
    print(f'[3/3] verifying against PyTorch on '
          f'{args.image or "a generated scene"}', flush=True)
    ok = verify(model, args.out, args.image, sizes, backends, args.tolerance)
    print(f'done in {time.time() - start:.0f} s')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
