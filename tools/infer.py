"""Runs a trained segmentor on an image, a folder of images or a video.

    python tools/infer.py CONFIG CHECKPOINT INPUT [--out DIR] [--device cpu]
        [--dtype fp32|bf16|fp16] [--backend eager|onnxruntime|openvino] [--onnx FILE]
        [--opacity 0.5] [--palette NAME] [--cfg-options k=v ...]

INPUT is an image, a folder (searched recursively, with a progress bar) or a video file.
For each image it writes, under ``--out`` (default ``work_dirs/infer``), keeping the
folder layout of INPUT:

- ``labels/NAME.png``: class indices (8-bit, or 16-bit beyond 255 classes), in the
  dataset's label-file convention: for datasets with ``reduce_zero_label`` (ADE20K,
  the demo set) 0 is "other" and class ``i`` is written as ``i + 1``, exactly as
  ``tools/test.py --out`` does; for a config of ``tools/folder_dataset.py``, in the
  encoding of the user's masks (index, 0/255, their palette or their RGB colours);
- ``masks/NAME.png``: the labels painted with the palette;
- ``overlays/NAME.png``: the image blended with the mask (``--opacity``) and a legend of
  the classes present, with their pixel shares.

For a video it writes ``NAME_overlay.mp4`` (the overlay of every frame, same frame rate).
Predictions follow the config's test pipeline and test mode (``'whole'``, ``'slide'``,
or the authors' protocol ``'authors'``). ``--backend onnxruntime|openvino`` runs an ONNX
graph (``--onnx``, else one exported with dynamic size to ``DIR/model.onnx``).
"""
import argparse
import os
import os.path as osp
import sys
import time
from pathlib import Path
from typing import List

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the plugin, uninstalled

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from tqdm import tqdm  # noqa: E402

import mmseg_psp_ext  # noqa: E402,F401  (registers the plugin)
from mmseg_psp_ext.deploy import export_onnx  # noqa: E402
from mmseg_psp_ext.deploy.loading import CheckpointError, load_segmentor  # noqa: E402
from mmseg_psp_ext.deploy.predictor import SegPredictor  # noqa: E402
from mmseg_psp_ext.datasets.folder import encode_labels  # noqa: E402
from mmseg_psp_ext.utils.atomic_io import atomic_write  # noqa: E402
from mmseg_psp_ext.utils.image_files import IMAGE_EXTENSIONS, find_images  # noqa: E402
from mmseg_psp_ext.visualization import (colorize, default_palette,  # noqa: E402
                                         overlay_with_legend)

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file (or URL)')
    parser.add_argument('input', help='an image, a folder of images or a video')
    parser.add_argument('--out', default='work_dirs/infer', help='output folder')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--dtype', choices=['fp32', 'bf16', 'fp16'], default='fp32',
                        help='eager: weights in this dtype; openvino: inference precision')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='eager: fold BatchNorm into the convolutions')
    parser.add_argument('--backend', choices=['eager', 'onnxruntime', 'openvino'],
                        default='eager')
    parser.add_argument('--onnx', help='ONNX file for --backend onnxruntime/openvino '
                        '(default: export one with dynamic size to OUT/model.onnx)')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the colour mask in the overlay')
    parser.add_argument('--palette', default=None,
                        help="colours: the model's dataset palette (default), a dataset "
                        "name known to mmseg.utils.get_palette (ade20k, cityscapes, voc, "
                        "...) or 'random'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, as key=value pairs')
    return parser.parse_args()


def prepare_eager(model, dtype: str, fuse_conv_bn: bool, device: str):
    """Folds BN and/or lowers the precision of the eager model.

    Uses the package's ``prepare_for_inference`` (weights in bf16/fp16) where this
    checkout has it; otherwise mmcv's ``fuse_conv_bn`` and ``torch.autocast``.

    Returns:
        torch.dtype | None: The autocast dtype the predictor must run under, if any.
    """
    if dtype == 'fp16' and not str(device).startswith('cuda'):
        raise SystemExit('infer.py: --dtype fp16 needs a CUDA device; use bf16 on the CPU')
    try:
        from mmseg_psp_ext.utils.fast_inference import prepare_for_inference
    except ImportError:
        prepare_for_inference = None
    if prepare_for_inference is not None:
        prepare_for_inference(model, fuse_conv_bn=fuse_conv_bn, dtype=dtype)
        return None
    if fuse_conv_bn:
        from mmcv.cnn import fuse_conv_bn as fuse
        fuse(model)
    return {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}[dtype]


def choose_palette(name, model) -> list:
    num_classes = model.decode_head.num_classes
    if name is None:
        return list(model.dataset_meta['palette'])
    if name == 'random':
        return default_palette(num_classes).tolist()
    from mmseg.utils import get_palette
    try:
        palette = get_palette(name)
    except ValueError as err:
        raise SystemExit(f'infer.py: --palette {name!r}: {err}') from err
    if len(palette) < num_classes:
        raise SystemExit(f'infer.py: --palette {name!r} has {len(palette)} colours, the '
                         f'model predicts {num_classes} classes')
    return palette


def encode_png(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode('.png', image)
    if not ok:
        raise RuntimeError(f'could not encode {path}')
    atomic_write(str(path), lambda f: f.write(data.tobytes()))


class Writer:
    """Writes label PNGs, colour masks and overlays for predicted label maps."""

    def __init__(self, out_dir: Path, model, palette: list, opacity: float) -> None:
        self.out_dir = out_dir
        self.classes = list(model.dataset_meta['classes'])
        self.palette = palette
        self.opacity = opacity
        self.label_offset = 1 if model.dataset_meta.get('reduce_zero_label') else 0
        self.num_values = model.decode_head.num_classes + self.label_offset
        # the user's own mask encoding (configs of tools/folder_dataset.py), else None
        cfg = getattr(model, 'cfg', None) or {}
        self.encoding = model.dataset_meta.get('mask_encoding') or cfg.get('mask_encoding')

    def label_image(self, labels: np.ndarray) -> np.ndarray:
        dtype = np.uint8 if self.num_values <= 256 else np.uint16
        return (labels + self.label_offset).astype(dtype)

    def overlay(self, image: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """BGR image (as OpenCV reads it) blended with ``labels``, legend on the right."""
        rgb = overlay_with_legend(image[:, :, ::-1], labels, self.classes, self.palette,
                                  self.opacity, position='right')
        return np.ascontiguousarray(rgb[:, :, ::-1])

    def write_image_outputs(self, relative: Path, image: np.ndarray,
                            labels: np.ndarray) -> None:
        name = relative.with_suffix('.png')
        if self.encoding:
            label_file = encode_labels(labels, self.encoding)
            atomic_write(str(self.out_dir / 'labels' / name),
                         lambda f: label_file.save(f, format='PNG'))
        else:
            encode_png(self.out_dir / 'labels' / name, self.label_image(labels))
        encode_png(self.out_dir / 'masks' / name,
                   np.ascontiguousarray(colorize(labels, self.palette)[:, :, ::-1]))
        encode_png(self.out_dir / 'overlays' / name, self.overlay(image, labels))


def run_images(predictor: SegPredictor, writer: Writer, paths: List[Path],
               root: Path) -> None:
    for path in tqdm(paths, desc='images', unit='img', disable=len(paths) < 2):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f'infer.py: {path} is not a readable image')
        labels = predictor.labels(path)
        writer.write_image_outputs(path.relative_to(root), image, labels)


def run_video(predictor: SegPredictor, writer: Writer, path: Path) -> Path:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SystemExit(f'infer.py: OpenCV cannot open the video {path}')
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    out_file = writer.out_dir / f'{path.stem}_overlay.mp4'
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp_file = out_file.with_name(f'.{out_file.stem}.tmp.mp4')
    video = None
    frames = 0
    try:
        with tqdm(total=total, desc='frames', unit='frame') as bar:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                overlay = writer.overlay(frame, predictor.labels(frame))
                if video is None:
                    height, width = overlay.shape[:2]
                    video = cv2.VideoWriter(str(tmp_file), cv2.VideoWriter_fourcc(*'mp4v'),
                                            fps, (width, height))
                    if not video.isOpened():
                        raise SystemExit(f'infer.py: OpenCV cannot write {tmp_file}')
                video.write(overlay)
                frames += 1
                bar.update()
    finally:
        capture.release()
        if video is not None:
            video.release()
    if frames == 0:
        raise SystemExit(f'infer.py: no frame could be read from {path}')
    os.replace(tmp_file, out_file)
    return out_file


def main() -> int:
    mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
    args = parse_args()
    source = Path(args.input)
    if not source.exists():
        print(f'infer.py: input {source} does not exist', file=sys.stderr)
        return 2
    if args.backend == 'onnxruntime' and args.dtype != 'fp32':
        print('infer.py: the onnxruntime backend runs fp32 only; use --dtype fp32 or '
              '--backend openvino', file=sys.stderr)
        return 2
    try:
        model = load_segmentor(args.config, args.checkpoint, args.device, args.cfg_options)
    except (CheckpointError, FileNotFoundError) as err:
        print(f'infer.py: {err}', file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    onnx_file = None
    autocast = None
    if args.backend == 'eager':
        if args.dtype != 'fp32' or args.fuse_conv_bn:
            autocast = prepare_eager(model, args.dtype, args.fuse_conv_bn, args.device)
    else:
        onnx_file = args.onnx
        if onnx_file is None:
            onnx_file = out_dir / 'model.onnx'
            print(f'Exporting the model to {onnx_file} (dynamic size) for {args.backend}...',
                  flush=True)
            start = time.time()
            export_onnx(model, onnx_file, size=(256, 256), dynamic=True)
            print(f'  done in {time.time() - start:.0f} s', flush=True)
    predictor = SegPredictor(model, args.backend, onnx_file,
                             precision='bf16' if args.dtype == 'bf16' else 'fp32',
                             autocast=autocast)
    writer = Writer(out_dir, model, choose_palette(args.palette, model), args.opacity)
    if source.is_dir():
        paths = find_images(source)
        if not paths:
            print(f'infer.py: no images ({", ".join(IMAGE_EXTENSIONS)}) under {source}',
                  file=sys.stderr)
            return 2
        run_images(predictor, writer, paths, source)
        print(f'Wrote labels/, masks/ and overlays/ for {len(paths)} images to {out_dir}')
    elif source.suffix.lower() in VIDEO_EXTENSIONS:
        out_file = run_video(predictor, writer, source)
        print(f'Wrote {out_file}')
    else:
        run_images(predictor, writer, [source], source.parent)
        name = source.with_suffix('.png').name
        print(f'Wrote {out_dir / "labels" / name}, {out_dir / "masks" / name} and '
              f'{out_dir / "overlays" / name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
