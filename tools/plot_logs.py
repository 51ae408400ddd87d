"""Plots loss, learning rate and mIoU of one or more training runs from their work dirs.

    python tools/plot_logs.py work_dirs/demo
    python tools/plot_logs.py work_dirs/demo work_dirs/demo_fcn --names PSPNet "dilated FCN" \\
        --keys loss decode.loss_ce mIoU --out work_dirs/demo_vs_fcn.png

Reads MMEngine's ``<timestamp>/vis_data/scalars.json`` under each work dir (all timestamp
folders of a resumed run, in order) and draws one panel per key with one curve per run.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the plugin, uninstalled

from mmseg_psp_ext.visualization.log_curves import load_scalars, plot_runs  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='training work dirs (or timestamp folders, or scalars.json files)')
    parser.add_argument('--keys', nargs='+', default=['loss', 'lr', 'mIoU'],
                        help='logged scalars to plot, one panel each (default: loss lr mIoU)')
    parser.add_argument('--names', nargs='+',
                        help='legend names of the runs (default: the work dir names)')
    parser.add_argument('--out', help='PNG to write (default: WORK_DIR/training_curves.png '
                        'of the first run)')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    names = args.names or [osp.basename(osp.normpath(d)) for d in args.work_dirs]
    if len(names) != len(args.work_dirs):
        sys.exit(f'plot_logs.py: {len(args.work_dirs)} work dirs but {len(names)} --names')
    out = args.out or osp.join(args.work_dirs[0], 'training_curves.png')
    try:
        runs = [(name, load_scalars(d)) for name, d in zip(names, args.work_dirs)]
        notes = plot_runs(runs, args.keys, out, title=args.title)
    except (FileNotFoundError, ValueError, KeyError) as err:
        sys.exit(f'plot_logs.py: {err.args[0] if isinstance(err, KeyError) else err}')
    for note in notes:
        print(f'plot_logs.py: note: {note}')
    for name, series in runs:
        last = ', '.join(f'{key} {series[key][-1][1]:.4g} (iter {series[key][-1][0]})'
                         for key in args.keys if key in series)
        print(f'{name}: {last}')
    print(f'plot_logs.py: wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
