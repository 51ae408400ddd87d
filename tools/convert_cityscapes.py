"""Writes Cityscapes ``*_gtFine_labelTrainIds.png`` (19 classes, 255 ignored) and split lists.

    python tools/convert_cityscapes.py data/cityscapes --nproc 2

For every annotated image under ``gtFine/{train,val,test}/<city>/`` the trainIds come from
``*_gtFine_polygons.json`` through cityscapesscripts (as its ``json2labelImg`` and
MMSegmentation's converter do) or, where the json is missing, from ``*_gtFine_labelIds.png``
mapped id -> trainId with cityscapesscripts' label table. ``*_gtFine_instanceIds.png``
(needed for iIoU) is kept as it is; when missing it is drawn from the json. Writes
``{train,val,test}.txt`` (``<city>/<city>_<seq>_<frame>``) into the output folder. Every
file is written atomically; a bad input stops the run with its name.
"""
import argparse
import glob
import os.path as osp
import sys
from multiprocessing import Pool
from typing import Dict, List, Optional

import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import labels
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import createLabelImage
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
from mmseg_psp_ext.utils.atomic_io import atomic_write_lines, atomic_write_png  # noqa: E402

SPLITS = ('train', 'val', 'test')
ID_TO_TRAIN_ID = np.full(256, -1, dtype=np.int64)  # -1: not a Cityscapes label id
for _label in labels:
    if _label.id >= 0:
        ID_TO_TRAIN_ID[_label.id] = 255 if _label.trainId in (-1, 255) else _label.trainId


class ConversionError(RuntimeError):
    """A bad input file; the message names it."""


def read_annotation(json_file: str) -> Annotation:
    annotation = Annotation()
    try:
        annotation.fromJsonFile(json_file)
    except Exception as error:  # json, key and type errors from a broken file
        raise ConversionError(f'{json_file}: not a Cityscapes polygons file ({error!r})') \
            from error
    return annotation


def label_ids_to_train_ids(label_file: str) -> np.ndarray:
    try:
        with Image.open(label_file) as image:
            ids = np.array(image)
    except OSError as error:
        raise ConversionError(f'{label_file}: unreadable ({error})') from error
    if ids.ndim != 2:
        raise ConversionError(f'{label_file}: expected a single-channel label id map, '
                              f'got shape {ids.shape}')
    train_ids = ID_TO_TRAIN_ID[np.clip(ids.astype(np.int64), 0, 255)]
    unknown = np.unique(ids[(train_ids < 0) | (ids > 255)])
    if len(unknown):
        raise ConversionError(f'{label_file}: values {unknown.tolist()} are not Cityscapes '
                              'label ids')
    return train_ids.astype(np.uint8)


def convert_one(stem: str) -> str:
    """Converts one ``.../<city>_<seq>_<frame>_gtFine`` stem; returns the source used."""
    json_file, out_file = stem + '_polygons.json', stem + '_labelTrainIds.png'
    instance_file = stem + '_instanceIds.png'
    if osp.isfile(json_file):
        annotation = read_annotation(json_file)
        try:
            train_ids = np.array(createLabelImage(annotation, 'trainIds'))
            if not osp.isfile(instance_file):
                instance = np.array(createInstanceImage(annotation, 'ids'))
        except Exception as error:
            raise ConversionError(f'{json_file}: cannot draw its polygons ({error!r})') \
                from error
        atomic_write_png(out_file, train_ids.astype(np.uint8))
        if not osp.isfile(instance_file):
            atomic_write_png(instance_file, instance.astype(np.uint16))
        return 'json'
    atomic_write_png(out_file, label_ids_to_train_ids(stem + '_labelIds.png'))
    return 'labelIds'


def find_stems(gt_dir: str) -> Dict[str, List[str]]:
    """Annotation stems per split (from polygons json or labelIds png)."""
    stems = {}
    for split in SPLITS:
        found = set()
        for pattern in ('*_gtFine_polygons.json', '*_gtFine_labelIds.png'):
            for path in glob.glob(osp.join(gt_dir, split, '*', pattern)):
                found.add(path[:path.rindex('_gtFine_') + len('_gtFine')])
        stems[split] = sorted(found)
    return stems


def convert(root: str, gt_dir: str = 'gtFine', out_dir: Optional[str] = None,
            nproc: int = 1) -> Dict[str, int]:
    gt_path = osp.join(root, gt_dir)
    if not osp.isdir(gt_path):
        raise ConversionError(f'missing folder {gt_path} (expected gtFine/{{train,val,test}})')
    stems = find_stems(gt_path)
    every = [stem for split in SPLITS for stem in stems[split]]
    if not every:
        raise ConversionError(f'no *_gtFine_polygons.json or *_gtFine_labelIds.png under '
                              f'{gt_path}/{{train,val,test}}/<city>/')
    sources = []
    if nproc > 1:
        with Pool(nproc) as pool:
            sources = list(tqdm(pool.imap(convert_one, every, chunksize=8), total=len(every),
                                desc='Cityscapes -> labelTrainIds'))
    else:
        sources = [convert_one(stem) for stem in tqdm(every, desc='Cityscapes -> labelTrainIds')]
    out_dir = out_dir or root
    for split in SPLITS:
        atomic_write_lines(osp.join(out_dir, f'{split}.txt'),
                           [osp.relpath(stem, osp.join(gt_path, split))[:-len('_gtFine')]
                            for stem in stems[split]])
    counts = {split: len(stems[split]) for split in SPLITS}
    counts['from_json'] = sources.count('json')
    counts['from_label_ids'] = sources.count('labelIds')
    return counts


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cityscapes_path', help='folder holding gtFine/ and leftImg8bit/')
    parser.add_argument('--gt-dir', default='gtFine', help='annotation folder name')
    parser.add_argument('-o', '--out-dir', help='where the split lists go (default: the root)')
    parser.add_argument('--nproc', type=int, default=1, help='worker processes')
    args = parser.parse_args(argv)
    try:
        counts = convert(args.cityscapes_path, args.gt_dir, args.out_dir, args.nproc)
    except ConversionError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print('done: ' + ', '.join(f'{key} {value}' for key, value in counts.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
