"""Converts the SBD ("VOC aug") annotations for PASCAL VOC 2012 training, as MMSegmentation does.

    python tools/convert_voc_aug.py data/VOCdevkit data/VOCdevkit/benchmark_RELEASE --nproc 2

Inputs: ``VOCdevkit/VOC2012/{JPEGImages,SegmentationClass,ImageSets/Segmentation/{train,val}.txt}``
and SBD's ``benchmark_RELEASE/dataset/{cls/*.mat,train.txt,val.txt}``. Outputs, all written
atomically:

- ``VOC2012/SegmentationClassAug/<id>.png``: every SBD ``cls/<id>.mat``
  (``GTcls.Segmentation``, class indices 0..20) as a PNG; the VOC train images that SBD
  lacks get their ``SegmentationClass`` label (255 borders kept), so that every id of
  ``trainaug.txt`` has a label here;
- ``VOC2012/ImageSets/Segmentation/trainaug.txt`` and ``train_aug.txt`` (the same list,
  MMSegmentation's and DeepLab/semseg's names): VOC train + SBD train + SBD val - VOC val
  (10582 images);
- ``VOC2012/ImageSets/Segmentation/aug.txt``: the SBD images in neither VOC split (9118),
  which MMSegmentation's ``pascal_voc12_aug`` config concatenates with ``train.txt``.
"""
import argparse
import os.path as osp
import sys
from functools import partial
from multiprocessing import Pool
from typing import List, Optional

import numpy as np
from PIL import Image
from scipy.io import loadmat
from tqdm import tqdm

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
from mmseg_psp_ext.utils.atomic_io import atomic_write_lines, atomic_write_png  # noqa: E402


class ConversionError(RuntimeError):
    """A bad input file; the message names it."""


def read_sbd_mat(mat_file: str) -> np.ndarray:
    """Class indices of one SBD ``cls/*.mat`` (``GTcls.Segmentation``)."""
    try:
        data = loadmat(mat_file)
    except Exception as error:  # scipy raises several types for corrupt files
        raise ConversionError(f'{mat_file}: not a readable MATLAB file ({error})') from error
    try:
        mask = data['GTcls'][0]['Segmentation'][0]
    except (KeyError, IndexError, ValueError) as error:
        raise ConversionError(f'{mat_file}: no GTcls.Segmentation field (SBD cls/*.mat '
                              f'layout expected; keys: {sorted(data)})') from error
    if mask.ndim != 2 or mask.size == 0 or mask.min() < 0 or (mask.max() > 20
                                                            and mask.max() != 255):
        raise ConversionError(f'{mat_file}: GTcls.Segmentation is not a 2-D map of class '
                              f'indices 0..20 (shape {mask.shape})')
    return mask.astype(np.uint8)


def convert_mat(name: str, cls_dir: str, out_dir: str) -> None:
    atomic_write_png(osp.join(out_dir, name + '.png'),
                     read_sbd_mat(osp.join(cls_dir, name + '.mat')))


def copy_voc_label(name: str, voc_label_dir: str, out_dir: str) -> None:
    """Writes VOC's own palette label as plain class indices."""
    path = osp.join(voc_label_dir, name + '.png')
    try:
        with Image.open(path) as image:
            if image.mode not in ('P', 'L'):
                raise ConversionError(f'{path}: expected a palette or grey label PNG, '
                                      f'got mode {image.mode}')
            mask = np.array(image)
    except OSError as error:
        raise ConversionError(f'{path}: unreadable ({error})') from error
    atomic_write_png(osp.join(out_dir, name + '.png'), mask.astype(np.uint8))


def read_list(path: str) -> List[str]:
    if not osp.isfile(path):
        raise ConversionError(f'missing split file {path}')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def run_all(task, names: List[str], nproc: int, desc: str) -> None:
    if nproc > 1:
        with Pool(nproc) as pool:
            for _ in tqdm(pool.imap_unordered(task, names, chunksize=16), total=len(names),
                          desc=desc):
                pass
    else:
        for name in tqdm(names, desc=desc):
            task(name)


def convert(devkit: str, sbd: str, out_dir: Optional[str] = None, nproc: int = 1) -> dict:
    """Converts the SBD labels and writes the split lists; returns the list sizes."""
    voc = osp.join(devkit, 'VOC2012')
    split_dir = osp.join(voc, 'ImageSets', 'Segmentation')
    cls_dir = osp.join(sbd, 'dataset', 'cls')
    if not osp.isdir(cls_dir):
        raise ConversionError(f'missing SBD folder {cls_dir} (benchmark_RELEASE/dataset/cls)')
    out_dir = out_dir or osp.join(voc, 'SegmentationClassAug')
    voc_train = read_list(osp.join(split_dir, 'train.txt'))
    voc_val = read_list(osp.join(split_dir, 'val.txt'))
    sbd_all = read_list(osp.join(sbd, 'dataset', 'train.txt')) + read_list(
        osp.join(sbd, 'dataset', 'val.txt'))
    missing = [name for name in sbd_all if not osp.isfile(osp.join(cls_dir, name + '.mat'))]
    if missing:
        raise ConversionError(f'{len(missing)} SBD ids have no .mat in {cls_dir}, '
                              f'e.g. {missing[0]}.mat')

    sbd_set = set(sbd_all)
    run_all(partial(convert_mat, cls_dir=cls_dir, out_dir=out_dir), sorted(sbd_set), nproc,
            'SBD .mat -> png')
    voc_only = sorted(set(voc_train) - sbd_set)
    run_all(partial(copy_voc_label, voc_label_dir=osp.join(voc, 'SegmentationClass'),
                    out_dir=out_dir), voc_only, nproc, 'VOC train labels not in SBD')

    train_aug = sorted((set(voc_train) | sbd_set) - set(voc_val))
    aug = sorted(sbd_set - set(voc_train) - set(voc_val))
    for name in ('trainaug.txt', 'train_aug.txt'):
        atomic_write_lines(osp.join(split_dir, name), train_aug)
    atomic_write_lines(osp.join(split_dir, 'aug.txt'), aug)
    return dict(converted=len(sbd_set), voc_only=len(voc_only), train_aug=len(train_aug),
                aug=len(aug))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('devkit_path', help='the VOCdevkit folder (holding VOC2012/)')
    parser.add_argument('sbd_path', help='SBD benchmark_RELEASE folder (holding dataset/cls)')
    parser.add_argument('-o', '--out-dir', help='default VOC2012/SegmentationClassAug')
    parser.add_argument('--nproc', type=int, default=1, help='worker processes')
    args = parser.parse_args(argv)
    try:
        counts = convert(args.devkit_path, args.sbd_path, args.out_dir, args.nproc)
    except ConversionError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f"done: {counts['converted']} SBD labels converted, {counts['voc_only']} VOC train "
          f"labels added; trainaug.txt/train_aug.txt {counts['train_aug']} ids (10582 for the "
          f"full data), aug.txt {counts['aug']} ids (9118)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
