"""End-to-end demo: generate the context set, train a small PSPNet, evaluate, draw predictions.

    python tools/demo.py                    # what `make demo` runs
    python tools/demo.py --with-baseline    # also trains the dilated-FCN baseline

Steps: (1) generate ``data/context_demo`` if it is missing, (2) ``mim train mmseg
configs/demo/pspnet_r18_context_demo.py --work-dir work_dirs/demo`` (and with
``--with-baseline`` ``configs/demo/fcn_r18_context_demo.py --work-dir work_dirs/demo_fcn``),
(3) evaluate the final checkpoint(s) on the validation split with MMEngine's runner, (4) write
``work_dirs/demo/demo_prediction.png`` (input | ground truth | prediction). Whenever a
baseline checkpoint exists (``work_dirs/demo_fcn`` from ``--with-baseline``, or
``work_dirs/ablation_demo/baseline`` from ``tools/ablation_demo.py``), the figure shows the
dilated FCN's prediction beside PSPNet's. Any failing step stops the demo with a message
naming it and a non-zero exit code.
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time
from typing import List, Optional, Tuple

import cv2
import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


BASELINE_CONFIG = 'configs/demo/fcn_r18_context_demo.py'
# Where a baseline checkpoint may be: `--with-baseline`, then tools/ablation_demo.py.
BASELINE_WORK_DIRS = ('work_dirs/demo_fcn', 'work_dirs/ablation_demo/baseline')


class DemoError(RuntimeError):
    """A demo step failed; the message says which and why."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/demo/pspnet_r18_context_demo.py')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/context_demo')
    parser.add_argument('--num-vis', type=int, default=4,
                        help='validation images in the prediction figure')
    parser.add_argument('--with-baseline', action='store_true',
                        help=f'also train the dilated-FCN baseline ({BASELINE_CONFIG}) into '
                        f'{BASELINE_WORK_DIRS[0]} and show it in the figure')
    return parser.parse_args()


def ensure_dataset(data_root: str) -> None:
    """Generates the dataset unless a complete one is already there."""
    from mmseg_psp_ext.datasets.context_demo import SPLITS, generate_context_demo
    if osp.exists(data_root):
        # Written atomically, so an existing folder is a finished one; check anyway in
        # case it was made by hand or half deleted.
        missing = [osp.join(data_root, kind, split) for kind in ('images', 'annotations')
                   for split in SPLITS if not osp.isdir(osp.join(data_root, kind, split))]
        if missing:
            raise DemoError(f'{data_root} exists but lacks {", ".join(missing)}; delete it '
                            'and run the demo again to regenerate it')
        print(f'[demo] dataset: using {data_root}')
        return
    start = time.time()
    counts = generate_context_demo(data_root, progress=True)
    print(f'[demo] dataset: generated {counts} in {data_root} '
          f'({time.time() - start:.1f} s)')


def train(config: str, work_dir: str, data_root: str) -> None:
    """Runs ``mim train`` in a subprocess that can import the plugin."""
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    if not os.access(mim, os.X_OK):
        raise DemoError(f'no mim next to {sys.executable} ({mim}); install the environment '
                        'with `make env` (onedl-mim)')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    # The demo net's convolutions are tiny: a second intra-op thread gains little and the
    # data-loading worker needs the other core (and on a busy machine spinning OpenMP
    # threads cost several times their work). Set OMP_NUM_THREADS to override.
    env.setdefault('OMP_NUM_THREADS', '1')
    cmd = [mim, 'train', 'mmseg', config, '--work-dir', work_dir]
    if osp.normpath(data_root) != osp.normpath('data/context_demo'):
        cmd += ['--cfg-options'] + [f'{loader}.dataset.data_root={data_root}' for loader in
                                    ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    print('[demo] train:', ' '.join(cmd), flush=True)
    result = subprocess.run(cmd, env=env, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise DemoError(f'training failed (exit code {result.returncode}); see the log '
                        f'above and {work_dir}')


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint MMEngine's CheckpointHook recorded last in ``work_dir``."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        raise DemoError(f'training left no {pointer}: no checkpoint was saved')
    with open(pointer) as f:
        ckpt = f.read().strip()
    if not osp.isfile(ckpt):
        raise DemoError(f'{pointer} names {ckpt!r}, which does not exist')
    return ckpt


def evaluate(config: str, ckpt: str, work_dir: str, data_root: str) -> dict:
    """Scores ``ckpt`` on the validation split with the config's test loop (IoUMetric)."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    cfg.work_dir = osp.join(work_dir, 'test')
    cfg.load_from = ckpt
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook', draw=False)
    metrics = Runner.from_cfg(cfg).test()
    wanted = ('mIoU', 'mAcc', 'aAcc')
    if any(key not in metrics for key in wanted):
        raise DemoError(f'the test loop returned {sorted(metrics)}, expected {wanted}')
    return metrics


def find_baseline(work_dirs=BASELINE_WORK_DIRS) -> Optional[str]:
    """The dilated-FCN baseline's last checkpoint in the first work dir that has one."""
    for work_dir in work_dirs:
        pointer = osp.join(work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            with open(pointer) as f:
                ckpt = f.read().strip()
            if osp.isfile(ckpt):
                return ckpt
    return None


def _caption(text: str, width: int, height: int = 18) -> np.ndarray:
    strip = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(strip, text, (4, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1,
                cv2.LINE_AA)
    return strip


def draw_predictions(config: str, ckpt: str, data_root: str, out_file: str,
                     num_images: int,
                     baseline: Optional[Tuple[str, str]] = None) -> List[str]:
    """Writes input | ground truth | prediction rows for the first validation images.

    With ``baseline`` = (config, checkpoint) of the dilated FCN, the rows are input |
    ground truth | dilated FCN | PSPNet.
    """
    from mmseg_psp_ext.datasets.context_demo import CLASSES, PALETTE
    from mmseg_psp_ext.deploy.loading import load_segmentor
    from mmseg_psp_ext.deploy.predictor import SegPredictor
    from mmseg_psp_ext.utils.atomic_io import atomic_write
    from mmseg_psp_ext.visualization import colorize, draw_legend
    predictors = [SegPredictor(load_segmentor(config, ckpt))]
    captions = ['input', 'ground truth', 'prediction']
    if baseline is not None:
        predictors.insert(0, SegPredictor(load_segmentor(*baseline)))
        captions[2:] = ['dilated FCN (baseline)', 'PSPNet']
    palette = np.array(PALETTE, np.uint8)
    img_dir = osp.join(data_root, 'images', 'validation')
    names = sorted(f for f in os.listdir(img_dir) if f.endswith('.jpg'))[:num_images]
    if not names:
        raise DemoError(f'no validation images in {img_dir}')
    side = cv2.imread(osp.join(img_dir, names[0])).shape[0]
    scale = max(1, 256 // side)  # small images are drawn larger
    rows = []
    for name in names:
        bgr = cv2.imread(osp.join(img_dir, name))
        ann_file = osp.join(data_root, 'annotations', 'validation', name[:-4] + '.png')
        gt = cv2.imread(ann_file, cv2.IMREAD_UNCHANGED)
        if bgr is None or gt is None:
            raise DemoError(f'could not read {name} or {ann_file}')
        gt = gt.astype(np.int64) - 1  # reduce_zero_label: 0 ("other") -> ignored
        gt[gt < 0] = 255
        preds = [predictor.labels(bgr) for predictor in predictors]
        tiles = [cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), colorize(gt, palette)]
        tiles += [colorize(pred, palette) for pred in preds]
        tiles = [cv2.resize(t, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
                 for t in tiles]
        gap = np.full((tiles[0].shape[0], 4, 3), 255, np.uint8)
        rows.append(np.concatenate([part for tile in tiles for part in (tile, gap)][:-1],
                                   axis=1))
    width = rows[0].shape[1]
    tile_w = (width - 4 * (len(captions) - 1)) // len(captions)
    header = np.concatenate([_caption(text, tile_w + 4) for text in captions[:-1]] +
                            [_caption(captions[-1], width - (len(captions) - 1) * (tile_w + 4))],
                            axis=1)
    entries = list(zip(CLASSES, palette)) + [('other (ignored)', np.zeros(3, np.uint8))]
    legend = draw_legend(entries, width, row_height=18, min_column_width=width // 4)
    spacer = np.full((4, width, 3), 255, np.uint8)
    parts = [header]
    for row in rows:
        parts += [row, spacer]
    figure = np.concatenate(parts + [legend], axis=0)
    ok, encoded = cv2.imencode('.png', cv2.cvtColor(figure, cv2.COLOR_RGB2BGR))
    if not ok:
        raise DemoError('could not encode the prediction figure')
    atomic_write(out_file, lambda f: f.write(encoded.tobytes()))
    return names


def main() -> int:
    args = parse_args()
    os.chdir(REPO_ROOT)
    start = time.time()
    step = 'dataset'
    try:
        ensure_dataset(args.data_root)
        step = 'training'
        train_start = time.time()
        train(args.config, args.work_dir, args.data_root)
        if args.with_baseline:
            step = 'baseline training'
            train(BASELINE_CONFIG, BASELINE_WORK_DIRS[0], args.data_root)
        train_time = time.time() - train_start
        step = 'evaluation'
        ckpt = last_checkpoint(args.work_dir)
        import mmseg_psp_ext  # registers the plugin in this process
        mmseg_psp_ext.quiet_framework_logs()  # known-harmless framework warnings, see the docs
        metrics = evaluate(args.config, ckpt, args.work_dir, args.data_root)
        baseline_ckpt = find_baseline()
        baseline = (BASELINE_CONFIG, baseline_ckpt) if baseline_ckpt else None
        if baseline:
            step = 'baseline evaluation'
            baseline_metrics = evaluate(BASELINE_CONFIG, baseline_ckpt,
                                        osp.dirname(baseline_ckpt), args.data_root)
        step = 'prediction figure'
        figure = osp.join(args.work_dir, 'demo_prediction.png')
        names = draw_predictions(args.config, ckpt, args.data_root, figure, args.num_vis,
                                 baseline=baseline)
    except Exception as err:  # one clear line, then the exit code
        print(f'\n[demo] FAILED at step "{step}": {type(err).__name__}: {err}',
              file=sys.stderr)
        return 1
    wall = time.time() - start
    print('\n' + '=' * 60)
    print(f'PSPNet demo on the context set ({args.config})')
    print(f'  checkpoint : {ckpt}')
    print(f"  mIoU       : {metrics['mIoU']:.2f}")
    print(f"  mAcc       : {metrics['mAcc']:.2f}")
    print(f"  aAcc       : {metrics['aAcc']:.2f}  (pixel accuracy)")
    if baseline:
        print(f"  baseline   : dilated FCN {baseline_ckpt}: mIoU {baseline_metrics['mIoU']:.2f}, "
              f"aAcc {baseline_metrics['aAcc']:.2f}")
    print(f'  figure     : {figure} ({len(names)} validation images'
          + (', dilated FCN beside PSPNet)' if baseline else ')'))
    if not baseline:
        print('  (run `python tools/demo.py --with-baseline` to add the dilated-FCN '
              'baseline to the figure)')
    print(f'  wall time  : {wall:.0f} s in all, {train_time:.0f} s in training')
    print('=' * 60)
    return 0


if __name__ == '__main__':
    sys.exit(main())
