"""Generates the context scene-parsing demo set in ADE20K's layout.

    python tools/generate_context_demo.py data/context_demo [--num-train 400 --num-val 100
        --size 256 --seed 0] [--overwrite]

    python tools/generate_context_demo.py data/my_photos --user-folder [--num-images 120]

``--user-folder`` writes the scenes as a labelling tool would export them instead:
``images/*.jpg``, ``masks/*.png`` with RGB colour masks and ``classes.csv`` (names and
colours; classes water, road, grass, sky, vehicle, animal), no split: the input of
tools/folder_dataset.py (docs/own_data.md).

The set is written to a temporary folder and renamed into place, so an interrupted run
leaves nothing at OUT_DIR. See mmseg_psp_ext/datasets/context_demo.py and docs/demo.md.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_psp_ext.datasets.context_demo import generate_context_demo  # noqa: E402
from mmseg_psp_ext.datasets.folder.user_folder import generate_user_folder  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='dataset root to create, e.g. data/context_demo')
    parser.add_argument('--num-train', type=int, default=400)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--size', type=int, default=256, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=None,
                        help='seed (default: 0, or 1 with --user-folder)')
    parser.add_argument('--user-folder', action='store_true',
                        help='write a "user folder" (images/, RGB masks/, classes.csv)')
    parser.add_argument('--num-images', type=int, default=120,
                        help='pairs of the user folder')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace OUT_DIR if it exists')
    args = parser.parse_args()
    start = time.time()
    if args.user_folder:
        seed = 1 if args.seed is None else args.seed
        try:
            count = generate_user_folder(args.out_dir, args.num_images, args.size, seed,
                                         overwrite=args.overwrite, progress=True)
        except (FileExistsError, ValueError) as err:
            print(f'generate_context_demo: {err}', file=sys.stderr)
            return 1
        print(f'Wrote {count} pairs ({args.size}x{args.size}, seed {seed}, RGB colour '
              f'masks, classes.csv) to {osp.abspath(args.out_dir)} in '
              f'{time.time() - start:.1f} s')
        return 0
    args.seed = 0 if args.seed is None else args.seed
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
