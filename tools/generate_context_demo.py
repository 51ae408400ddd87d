"""Generates the context scene-parsing demo set in ADE20K's layout.

    python tools/generate_context_demo.py data/context_demo [--num-train 400 --num-val 100
        --size 256 --seed 0] [--overwrite]

The set is written to a temporary folder and renamed into place, so an interrupted run
leaves nothing at OUT_DIR. See mmseg_psp_ext/datasets/context_demo.py and docs/demo.md.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_psp_ext.datasets.context_demo import generate_context_demo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='dataset root to create, e.g. data/context_demo')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--size', type=int, default=256, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace OUT_DIR if it exists')
    args = parser.parse_args()
    start = time.time()
    try:
        counts = generate_context_demo(args.out_dir, args.num_train, args.num_val,
                                       args.size, args.seed, overwrite=args.overwrite,
                                       progress=True)
    except (FileExistsError, ValueError) as err:
        print(f'generate_context_demo: {err}', file=sys.stderr)
        return 1
    print(f'Wrote {counts} ({args.size}x{args.size}, seed {args.seed}) to '
          f'{osp.abspath(args.out_dir)} in {time.time() - start:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
