"""The paper's Table 1 pooling ablation, at small scale on the generated context dataset.

Trains the dilated-FCN baseline and each PPM variant (B1 / B1236 x MAX / AVE, with and
without dimension reduction) from the same demo config, seed and data, then prints their
validation mIoU, mAcc and aAcc side by side with the paper's ADE20K figures, so anyone can
see whether pyramid pooling beats the baseline where global context decides the class.
CPU-only and not part of CI: about 2-4 minutes per variant on 2 cores at the defaults.

    python tools/ablation_demo.py                      # all 7 rows of Table 1
    python tools/ablation_demo.py --iters 400 --rows baseline B1236+AVE+DR
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.join(REPO, 'tools'))

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

CONFIG = osp.join(REPO, 'configs/demo/pspnet_r18_context_demo.py')
# Row: (pool_scales, pool_type, reduce_dim, the paper's ADE20K mIoU / pAcc).
ROWS = {
    'baseline': ((), 'avg', True, (37.23, 78.01)),
    'B1+MAX': ((1, ), 'max', False, (39.94, 79.46)),
    'B1+AVE': ((1, ), 'avg', False, (40.07, 79.52)),
    'B1236+MAX': ((1, 2, 3, 6), 'max', False, (40.18, 79.45)),
    'B1236+AVE': ((1, 2, 3, 6), 'avg', False, (41.07, 79.97)),
    'B1236+MAX+DR': ((1, 2, 3, 6), 'max', True, (40.87, 79.61)),
    'B1236+AVE+DR': ((1, 2, 3, 6), 'avg', True, (41.68, 80.04)),
}


def variant_config(row: str, args: argparse.Namespace) -> Config:
    scales, pool_type, reduce_dim, _ = ROWS[row]
    cfg = Config.fromfile(CONFIG)
    cfg.model.decode_head.update(pool_scales=scales, pool_type=pool_type,
                                 reduce_dim=reduce_dim)
    cfg.work_dir = osp.join(args.work_dir, row.replace('+', '_'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = args.data_root
    if args.iters:
        cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = args.iters
        cfg.param_scheduler[0].end = args.iters
        cfg.default_hooks.checkpoint.interval = args.iters
    cfg.default_hooks.logger.interval = 100
    cfg.randomness = dict(seed=args.seed)
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rows', nargs='+', choices=list(ROWS), default=list(ROWS))
    parser.add_argument('--iters', type=int, default=0,
                        help='training iterations (default: the demo config\'s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--data-root', default=osp.join(REPO, 'data/context_demo'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs/ablation_demo'))
    args = parser.parse_args()

    from mmseg_psp_ext import quiet_framework_logs
    from mmseg_psp_ext.datasets.context_demo import generate_context_demo
    quiet_framework_logs()  # known-harmless framework warnings, see the docs
    if not osp.isdir(osp.join(args.data_root, 'images')):
        generate_context_demo(args.data_root)
    results = {}
    for row in args.rows:
        start = time.perf_counter()
        runner = Runner.from_cfg(variant_config(row, args))
        runner.train()  # validates after the last iteration
        hub = runner.message_hub
        results[row] = {key: float(hub.get_scalar(f'val/{key}').current())
                        for key in ('mIoU', 'mAcc', 'aAcc')}
        results[row]['minutes'] = (time.perf_counter() - start) / 60
    print('\nTable 1 on the context demo (validation, single scale); paper: ADE20K val')
    print(f"{'row':<14} {'mIoU':>6} {'mAcc':>6} {'aAcc':>6} {'min':>5}   paper mIoU/pAcc")
    for row, res in results.items():
        paper = ROWS[row][3]
        print(f"{row:<14} {res['mIoU']:6.2f} {res['mAcc']:6.2f} {res['aAcc']:6.2f} "
              f"{res['minutes']:5.1f}   {paper[0]:.2f}/{paper[1]:.2f}")
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
