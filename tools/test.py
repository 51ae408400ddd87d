"""Tests (and evaluates) a segmentor with the plugin registered (MMSegmentation's test.py).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR] [--show-dir DIR]
        [--tta] [--plot-dir DIR] [--fuse-conv-bn] [--channels-last]
        [--dtype {fp32,bf16,fp16}] [--compile] [--backend {onnxruntime,openvino} --onnx FILE]
        [--cfg-options key=value ...]
    bash tools/dist_test.sh CONFIG CHECKPOINT NUM_GPUS [ARGS]
    bash tools/slurm_test.sh PARTITION JOB CONFIG CHECKPOINT [ARGS]

``--out`` writes the predicted label maps as PNG files (for offline evaluation or
submission); ``--show-dir`` writes images painted with ground truth and prediction;
``--tta`` uses the config's ``tta_pipeline`` and ``tta_model``; ``--plot-dir`` writes a
per-class IoU bar chart and the confusion matrix (PNG and CSV) of the run. ``--fuse-conv-bn``,
``--channels-last``, ``--dtype`` and ``--compile`` speed up inference
(mmseg_psp_ext.utils.fast_inference). ``--backend onnxruntime|openvino --onnx FILE`` runs
an exported graph instead of PyTorch (fp32 from ``tools/export_onnx.py``, INT8 from
``tools/quantize.py``: ``.onnx``, or OpenVINO's ``.xml``), inside the config's test mode
(whole, sliding window or the authors' protocol), so the scores are the backend's.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the plugin, uninstalled

import mmseg_psp_ext  # noqa: E402,F401  (registers the plugin; weights_only checkpoint shim)
from mmseg_psp_ext.engine import CheckpointError, check_checkpoint  # noqa: E402
from mmseg_psp_ext.engine.distributed import (  # noqa: E402
    LaunchError, finish_distributed, setup_distributed)
from mmseg_psp_ext.utils.fast_inference import prepare_for_inference  # noqa: E402
from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Parses the command line (the same options as MMSegmentation's test.py)."""
    parser = argparse.ArgumentParser(description='Test (and evaluate) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir where the evaluation metrics are written as json')
    parser.add_argument(
        '--out', type=str, help='the dir to save the predicted label maps (PNG)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='the dir to save painted images (under DIR/vis_data/vis_image/; a relative DIR is '
        'relative to the current directory, e.g. work_dirs/NAME/vis)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, as key=value pairs (key="[a,b]" for lists)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation')
    parser.add_argument(
        '--plot-dir', help='the dir to save per_class_iou.png, confusion_matrix.png and '
        'confusion_matrix.csv')
    parser.add_argument(
        '--fuse-conv-bn', action='store_true',
        help='fold BatchNorm into the preceding convolutions (faster, same results)')
    parser.add_argument(
        '--channels-last', action='store_true', default=None,
        help='channels_last memory format (default: on for bf16/fp16, off for fp32)')
    parser.add_argument(
        '--dtype', choices=['fp32', 'bf16', 'fp16'], default='fp32',
        help='weights and activations dtype; fp16 needs CUDA (default: fp32)')
    parser.add_argument(
        '--compile', action='store_true',
        help='torch.compile the backbone and heads (the first image compiles; same results)')
    parser.add_argument(
        '--backend', choices=['onnxruntime', 'openvino'],
        help='run the graph of --onnx on this runtime instead of PyTorch')
    parser.add_argument(
        '--onnx', help='the graph for --backend: an .onnx file, or .xml for openvino '
        '(tools/export_onnx.py, tools/quantize.py)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if (args.backend is None) != (args.onnx is None):
        parser.error('--backend and --onnx go together')
    if args.backend and (args.fuse_conv_bn or args.channels_last or args.dtype != 'fp32'
                         or args.compile or args.tta):
        parser.error('--backend runs the exported graph as it is: drop --fuse-conv-bn, '
                     '--channels-last, --dtype, --compile and --tta')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace) -> Config:
    """Turns on drawing in the config's SegVisualizationHook."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        sys.exit("test.py: --show/--show-dir need default_hooks.visualization = "
                 "dict(type='SegVisualizationHook') in the config")
    hook['draw'] = True
    # mmseg 1.2.2 draws test images every `interval` (default 50) batches, 1.4.2 all.
    hook.setdefault('interval', 1)
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
    return cfg


def main() -> None:
    """Builds the runner from the config, loads the checkpoint and tests."""
    mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
    args = parse_args()
    for what, path in (('config', args.config), ('checkpoint', args.checkpoint)):
        if not osp.isfile(path):
            sys.exit(f'test.py: {what} file {path!r} does not exist')
    try:  # complete, and weights-only (MMEngine's onedl loader falls back to full pickle)
        check_checkpoint(args.checkpoint)
    except CheckpointError as err:
        sys.exit(f'test.py: {err}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    try:  # process group (gloo without CUDA), Slurm variables, same config on every node
        setup_distributed(cfg)
    except LaunchError as err:
        sys.exit(f'test.py: {err}')

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            sys.exit('test.py: --tta needs tta_model and tta_pipeline in the config')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model

    if args.out is not None:
        # IoUMetric creates output_dir on rank 0 only: the other ranks could write first.
        os.makedirs(args.out, exist_ok=True)
        evaluators = cfg.test_evaluator
        for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
            if isinstance(evaluator, (dict, ConfigDict)):
                evaluator['output_dir'] = args.out
                evaluator['keep_results'] = True

    if args.plot_dir is not None:
        # Drawn from the same predictions as the scores (mmseg_psp_ext ConfusionPlotMetric).
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, list) else [evaluators]
        ignore_index = next((e.get('ignore_index') for e in evaluators
                             if isinstance(e, (dict, ConfigDict)) and 'ignore_index' in e), 255)
        cfg.test_evaluator = evaluators + [
            dict(type='ConfusionPlotMetric', out_dir=args.plot_dir, ignore_index=ignore_index)]

    runner = Runner.from_cfg(cfg)
    try:  # test() won't reload; CheckpointFitHook checks that the checkpoint fits
        runner.load_or_resume()
    except CheckpointError as err:
        sys.exit(f'test.py: {err}')
    if args.fuse_conv_bn or args.channels_last or args.dtype != 'fp32' or args.compile:
        try:  # fold and cast the loaded weights
            prepare_for_inference(runner.model, args.fuse_conv_bn, args.channels_last,
                                  args.dtype, compile=args.compile)
        except ValueError as err:
            sys.exit(f'test.py: {err}')
    if args.backend:
        from mmseg_psp_ext.deploy import build_backend
        from mmseg_psp_ext.deploy.predictor import attach_backend
        try:
            run = build_backend(args.backend, args.onnx)
        except FileNotFoundError as err:
            sys.exit(f'test.py: {err}')
        attach_backend(getattr(runner.model, 'module', runner.model), run)
    runner.test()
    finish_distributed()


if __name__ == '__main__':
    main()
