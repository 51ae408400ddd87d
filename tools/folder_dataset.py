"""Inspects a folder of images and masks and writes a config that fine-tunes PSPNet on it.

    python tools/folder_dataset.py DATA_DIR --out CONFIG [--base BASE_CONFIG]
        [--load-from CKPT] [--classes NAME ...] [--iters N] [--batch-size B]
        [--crop-size S] [--amp] [--freeze-backbone] [--class-weight auto]
        [--val-fraction F] [--reduce-zero-label | --no-reduce-zero-label]
        [--images NAME] [--masks NAME] [--work-dir DIR] [--nproc N]

Prints what it found (pairs, split, sizes, mask encoding, classes with their pixel
shares and image counts, oddities) and what it decided; converts colour and 0/255 masks
to index masks in DATA_DIR/index_masks (or WORK_DIR/index_masks), never over the
originals. Any bad input stops it before anything is written, naming the files.
See docs/own_data.md.
"""
import argparse
import os.path as osp
import shlex
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the plugin, uninstalled

from mmseg_psp_ext.datasets.folder import (FolderDatasetError, convert_masks,  # noqa: E402
                                           inspect_folder, needs_conversion)
from mmseg_psp_ext.datasets.folder.config_writer import (DEFAULT_BASE,  # noqa: E402
                                                         TrainOptions, write_config)
from mmseg_psp_ext.datasets.folder.convert import CONVERTED_DIR  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_dir', help='folder with images/ and masks/ (or the like)')
    parser.add_argument('--out', required=True, help='the config file to write')
    parser.add_argument('--base', default=osp.relpath(DEFAULT_BASE),
                        help='config to inherit (default: the zoo PSPNet-R50 ADE20K one, '
                        'with its zoo checkpoint as load_from)')
    parser.add_argument('--load-from', help='checkpoint to fine-tune from')
    parser.add_argument('--classes', nargs='+', help='class names, in index order '
                        '(default: classes.txt/.csv/.json in DATA_DIR)')
    parser.add_argument('--iters', type=int, default=2000, help='training iterations')
    parser.add_argument('--batch-size', type=int, help="images per GPU (default: base's)")
    parser.add_argument('--crop-size', type=int,
                        help='training crop side (default: from the image sizes, <= 512)')
    parser.add_argument('--lr', type=float, help="base learning rate (default: base's)")
    parser.add_argument('--num-workers', type=int, help="data workers (default: base's)")
    parser.add_argument('--amp', action='store_true', help='mixed precision')
    parser.add_argument('--freeze-backbone', action='store_true',
                        help='train only the heads (backbone and its BN statistics frozen)')
    parser.add_argument('--class-weight', choices=['auto'],
                        help='auto: loss weights from the pixel share of each class')
    parser.add_argument('--val-fraction', type=float, default=0.1,
                        help='validation share when the folder gives no split')
    parser.add_argument('--reduce-zero-label', action=argparse.BooleanOptionalAction,
                        default=None, help='whether 0 in index masks means "unlabelled" '
                        '(needed only when the class list cannot tell)')
    parser.add_argument('--ignore-index', type=int, default=255,
                        help='the "unlabelled" value of index masks')
    parser.add_argument('--max-colours', type=int, default=32,
                        help='most colours taken as classes without a class list')
    parser.add_argument('--images', help='name of the image folder (default: looked for)')
    parser.add_argument('--masks', help='name of the mask folder (default: looked for)')
    parser.add_argument('--allow-unpaired', action='store_true',
                        help='leave out images without a mask and masks without an image')
    parser.add_argument('--work-dir', help='where converted masks go (default: DATA_DIR)')
    parser.add_argument('--nproc', type=int, default=2, help='processes reading the masks')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.iters < 1:
        print('folder_dataset.py: --iters must be positive', file=sys.stderr)
        return 2
    if not osp.isfile(args.base):
        print(f'folder_dataset.py: --base {args.base}: no such config', file=sys.stderr)
        return 2
    start = time.time()
    progress = not args.no_progress
    try:
        inspection = inspect_folder(
            args.data_dir, args.classes, args.images, args.masks, args.val_fraction,
            args.reduce_zero_label, args.ignore_index, args.max_colours,
            args.allow_unpaired, args.nproc, progress)
        print(inspection.report())
        print(f'Inspected in {time.time() - start:.1f} s')
        seg_root = None
        if needs_conversion(inspection.encoding):
            seg_root = osp.abspath(osp.join(args.work_dir or args.data_dir, CONVERTED_DIR))
            count = convert_masks(inspection.layout.pairs, seg_root, inspection.layout.root,
                                  inspection.encoding, args.nproc, progress)
            print(f'Converted {count} masks to index masks in {seg_root}')
    except FolderDatasetError as err:
        print(f'folder_dataset.py: {err}', file=sys.stderr)
        return 1
    options = TrainOptions(args.base, args.load_from, args.iters, args.batch_size,
                           args.crop_size, args.amp, args.freeze_backbone,
                           args.class_weight, args.lr, args.num_workers)
    command = 'python tools/folder_dataset.py ' + ' '.join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    write_config(inspection, args.out, options, seg_root, command)
    print(f'Wrote {args.out}: train with\n  python tools/train.py {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
