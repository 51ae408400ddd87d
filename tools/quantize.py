"""INT8 post-training quantization of a segmentor, with its accuracy measured on the val set.

    python tools/quantize.py CONFIG CHECKPOINT OUT [--backend onnxruntime|openvino]
        [--calib-images 300] [--calib-dir DIR] [--eval-images N] [--max-drop POINTS]
        [--size H W | --dynamic] [--onnx FP32.onnx] [--preset mixed|performance]
        [--float-layers PREFIX ...] [--no-eval] [--cfg-options k=v ...]

Exports the model to ONNX, quantizes it statically (``onnxruntime``, the default: ONNX
Runtime's ``quantize_static``, writes OUT ``.onnx``; ``openvino``: NNCF, writes OUT ``.xml``
and ``.bin``),
calibrated on ``--calib-images`` images spread over the config's training set (or
``--calib-dir``) as its test pipeline gives them. Then it evaluates the fp32 model
(PyTorch) and the INT8 model (the backend, through the config's test mode) on the
validation set (its first ``--eval-images``) and prints both mIoUs, the drop and the pixel
agreement. With ``--max-drop``, groups of layers are kept in float, from the output back,
until the drop is within the limit. Beside OUT, a JSON of the same stem records the calibration
images, the sizes, the layers kept in float and the measured figures. Everything is
written in a staging folder and moved into place at the end: a failed run leaves nothing.
The INT8 model is a backend like the fp32 graph: ``tools/infer.py``, ``tools/test.py`` and
``tools/web_demo.py`` take it with ``--backend BACKEND --onnx OUT``.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the plugin, uninstalled

from mmengine.config import DictAction  # noqa: E402

import mmseg_psp_ext  # noqa: E402,F401  (registers the plugin)
from mmseg_psp_ext.deploy import build_backend, export_onnx  # noqa: E402
from mmseg_psp_ext.deploy.calibration import (CalibrationError,  # noqa: E402
                                              CalibrationInputs, check_channels,
                                              dataset_image_paths, folder_image_paths,
                                              pick_evenly)
from mmseg_psp_ext.deploy.evaluation import (evaluate, pixel_agreement,  # noqa: E402
                                             validation_loader)
from mmseg_psp_ext.deploy.loading import CheckpointError, load_segmentor  # noqa: E402
from mmseg_psp_ext.deploy.predictor import attach_backend  # noqa: E402
from mmseg_psp_ext.deploy.quantization import (DEFAULT_FLOAT_LAYERS,  # noqa: E402
                                               DEFAULT_FLOAT_TYPES,
                                               MissingDependencyError, conv_layers,
                                               layer_groups, model_files, nodes_in_scope,
                                               quantize, require)
from mmseg_psp_ext.utils.atomic_io import atomic_write, replace_atomically  # noqa: E402

SUFFIX = {'openvino': '.xml', 'onnxruntime': '.onnx'}
LIBRARY = {'openvino': ('nncf', 'nncf'), 'onnxruntime': ('onnxruntime.quantization',
                                                        'onnxruntime')}


class QuantizeError(Exception):
    """A run that cannot give a model within the requested accuracy."""


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file (or URL)')
    parser.add_argument('out', help='the INT8 model to write: .xml (openvino) or .onnx '
                        '(onnxruntime)')
    parser.add_argument('--backend', choices=sorted(SUFFIX), default='onnxruntime',
                        help='quantization library and runtime (default: onnxruntime, the '
                        'faster and the more accurate in our measurements; openvino: NNCF)')
    parser.add_argument('--calib-images', type=int, default=300,
                        help='calibration images (default 300, as OpenVINO recommends)')
    parser.add_argument('--calib-dir', help="calibration images from this folder instead "
                        "of the config's training set")
    parser.add_argument('--eval-images', type=int, default=None,
                        help='evaluate on the first N validation images (default: all)')
    parser.add_argument('--max-drop', type=float, default=None,
                        help='largest mIoU drop (points) accepted; layers are kept in '
                        'float until it is met')
    size = parser.add_mutually_exclusive_group()
    size.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                      help='fixed input size of the graph (calibration images are resized '
                      'to it); default: dynamic')
    size.add_argument('--dynamic', action='store_true',
                      help='dynamic input height and width (the default)')
    parser.add_argument('--onnx', metavar='FP32.onnx',
                        help='quantize this fp32 export (tools/export_onnx.py) instead of '
                        'exporting the checkpoint; its size (fixed or dynamic) applies')
    parser.add_argument('--preset', choices=['mixed', 'performance'], default='mixed',
                        help='mixed: asymmetric activations (default); performance: '
                        'symmetric activations')
    parser.add_argument('--float-layers', nargs='*', default=list(DEFAULT_FLOAT_LAYERS),
                        metavar='PREFIX',
                        help='module prefixes kept in float from the start (default: '
                        f'{" ".join(DEFAULT_FLOAT_LAYERS)}, the classifier; give the '
                        'option alone to quantize it too)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, as key=value pairs')
    parser.add_argument('--no-eval', action='store_true',
                        help='skip the evaluation (no accuracy figures in the JSON)')
    args = parser.parse_args(argv)
    if osp.splitext(args.out)[1] != SUFFIX[args.backend]:
        parser.error(f'OUT {args.out!r}: the {args.backend} backend writes a '
                     f'{SUFFIX[args.backend]} file')
    if args.max_drop is not None and (args.no_eval or args.max_drop < 0):
        parser.error('--max-drop needs the evaluation and a value >= 0')
    return args


def graph_size(onnx_file: str) -> Optional[tuple]:
    """(H, W) of a fixed-size graph's input; None for a dynamic one."""
    import onnx
    dims = onnx.load(onnx_file, load_external_data=False).graph.input[0].type.tensor_type \
        .shape.dim
    values = [d.dim_value if d.HasField('dim_value') else None for d in dims[2:4]]
    return None if None in values else tuple(values)


def calibration_paths(args, cfg) -> List[str]:
    if args.calib_dir:
        paths = folder_image_paths(args.calib_dir)
    else:
        paths = dataset_image_paths(cfg, 'train')
        if not paths:
            raise CalibrationError("the config's training set is empty; pass --calib-dir")
    paths = pick_evenly(paths, args.calib_images)
    check_channels(paths)
    return paths


class Quantizer:
    """Quantizes with a float scope and evaluates, reusing the fp32 evaluation."""

    def __init__(self, args, model, onnx_file: str, staging: str, calib: CalibrationInputs,
                 loader) -> None:
        self.args, self.model, self.onnx_file = args, model, onnx_file
        self.staging, self.calib, self.loader = staging, calib, loader
        self.layers = conv_layers(onnx_file)
        self.fp32 = None
        self.tries = 0

    def run(self, float_prefixes: List[str]) -> dict:
        """Quantizes with ``float_prefixes`` in float; returns the figures of that try."""
        self.tries += 1
        out = osp.join(self.staging, f'try{self.tries}{SUFFIX[self.args.backend]}')
        nodes = nodes_in_scope(self.layers, float_prefixes)
        print(f'[quantize] calibrating {self.args.backend} INT8 on {len(self.calib)} images'
              f'; in float: {", ".join(float_prefixes) or "nothing"} (+ op types '
              f'{", ".join(DEFAULT_FLOAT_TYPES)})', flush=True)
        start = time.perf_counter()
        quantize(self.args.backend, self.onnx_file, self.calib, len(self.calib), out,
                 float_nodes=nodes, preset=self.args.preset)
        seconds = time.perf_counter() - start
        print(f'[quantize] quantized in {seconds:.1f} s', flush=True)
        found = dict(file=out, float_layers=list(float_prefixes), float_nodes=nodes,
                     calibration_seconds=round(seconds, 2))
        if self.args.no_eval:
            return found
        attach_backend(self.model, build_backend(self.args.backend, out))
        int8 = evaluate(self.model, self.loader, self.model.cfg.val_evaluator, 'INT8 eval')
        found.update(int8_miou=int8.miou, drop=round(self.fp32.miou - int8.miou, 4),
                     pixel_agreement=pixel_agreement(self.fp32.labels, int8.labels),
                     int8_metrics=int8.metrics)
        print(f'[quantize] mIoU fp32 {self.fp32.miou:.2f}, INT8 {int8.miou:.2f} (drop '
              f'{found["drop"]:.2f}); pixel agreement {100 * found["pixel_agreement"]:.2f}%',
              flush=True)
        return found

    def search(self, start: List[str], max_drop: Optional[float]) -> dict:
        """Keeps groups in float from the output back until the drop is within limits."""
        found = self.run(start)
        if max_drop is None or found['drop'] <= max_drop:
            return found
        best, scope = found, list(start)
        for group in layer_groups(self.layers):
            if any(group.startswith(p) or p.startswith(group) for p in scope):
                if group in scope:
                    continue
                scope = [p for p in scope if not p.startswith(group)]
            scope.append(group)
            found = self.run(scope)
            if found['drop'] < best['drop']:
                best = found
            if found['drop'] <= max_drop:
                return found
        tried = '; '.join(scope)
        raise QuantizeError(
            f'--max-drop {max_drop:g} cannot be met: the best drop was {best["drop"]:.2f} '
            f'mIoU points with {", ".join(best["float_layers"]) or "nothing"} in float; '
            f'layer groups tried in float, from the output back: {tried}')


def publish(staging: str, found: dict, out: str, record: dict) -> List[str]:
    """Moves the chosen model's files to ``out`` and writes its JSON beside it."""
    written = []
    targets = model_files(out)
    for src, dst in reversed(list(zip(model_files(found['file']), targets))):
        os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
        tmp = osp.join(staging, '.publish' + osp.splitext(dst)[1])
        shutil.move(src, tmp)
        replace_atomically(tmp, dst)  # .bin before .xml: the .xml names a complete model
        written.append(dst)
    json_file = osp.splitext(out)[0] + '.json'
    atomic_write(json_file, lambda f: f.write(json.dumps(record, indent=2) + '\n'), 'w')
    return written[::-1] + [json_file]


def main(argv: Optional[List[str]] = None) -> int:
    mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
    args = parse_args(argv)
    start = time.time()
    try:
        require(*LIBRARY[args.backend])
        require('onnx', 'onnx')
        model = load_segmentor(args.config, args.checkpoint, 'cpu', args.cfg_options)
        paths = calibration_paths(args, model.cfg)
    except (MissingDependencyError, CheckpointError, CalibrationError,
            FileNotFoundError) as err:
        print(f'quantize.py: {err}', file=sys.stderr)
        return 2
    size = tuple(args.size) if args.size else None
    if args.onnx:
        if not osp.isfile(args.onnx):
            print(f'quantize.py: --onnx file {args.onnx!r} does not exist', file=sys.stderr)
            return 2
        size = graph_size(args.onnx)
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f'.{osp.basename(args.out)}.', dir=out_dir)
    try:
        what = f'{size[0]}x{size[1]}' if size else 'dynamic size'
        if args.onnx:
            onnx_file = args.onnx
            print(f'[quantize] fp32 graph {onnx_file} ({what})', flush=True)
        else:
            onnx_file = osp.join(staging, 'fp32.onnx')
            print(f'[quantize] exporting fp32 ONNX ({what})', flush=True)
            export_onnx(model, onnx_file, size=size or (256, 256), dynamic=size is None)
        calib = CalibrationInputs(model, paths, size)
        loader = None
        quantizer = Quantizer(args, model, onnx_file, staging, calib, None)
        if not args.no_eval:
            loader = validation_loader(model.cfg, args.eval_images)
            quantizer.loader = loader
            quantizer.fp32 = evaluate(model, loader, model.cfg.val_evaluator, 'fp32 eval')
            print(f'[quantize] fp32 (PyTorch) mIoU {quantizer.fp32.miou:.2f} on '
                  f'{len(loader.dataset)} validation images', flush=True)
        try:
            found = quantizer.search(list(args.float_layers), args.max_drop)
        except QuantizeError as err:
            print(f'quantize.py: {err}; nothing was written to {args.out}', file=sys.stderr)
            return 1
        import onnxruntime
        import openvino
        record = dict(
            backend=args.backend, config=args.config, checkpoint=args.checkpoint,
            size=list(size) if size else 'dynamic', preset=args.preset,
            calibration=dict(source=args.calib_dir or f'{args.config}: train_dataloader',
                             count=len(paths), images=[osp.relpath(p) for p in paths],
                             seconds=found['calibration_seconds']),
            float_layers=found['float_layers'], float_op_types=list(DEFAULT_FLOAT_TYPES),
            float_nodes=found['float_nodes'], tries=quantizer.tries,
            versions=dict(openvino=openvino.__version__, onnxruntime=onnxruntime.__version__))
        if args.backend == 'openvino':
            import nncf
            record['versions']['nncf'] = nncf.__version__
        if not args.no_eval:
            record['evaluation'] = dict(
                images=len(loader.dataset), fp32_miou=quantizer.fp32.miou,
                int8_miou=found['int8_miou'], drop=found['drop'],
                pixel_agreement=found['pixel_agreement'], max_drop=args.max_drop,
                fp32_metrics=quantizer.fp32.metrics, int8_metrics=found['int8_metrics'])
        written = publish(staging, found, args.out, record)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f'[quantize] wrote {", ".join(written)} in {time.time() - start:.0f} s')
    if not args.no_eval:
        print(f'mIoU fp32 {quantizer.fp32.miou:.2f}  INT8 {found["int8_miou"]:.2f}  drop '
              f'{found["drop"]:.2f}  pixel agreement {100 * found["pixel_agreement"]:.2f}%'
              f'  in float: {", ".join(found["float_layers"]) or "nothing"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
