"""Checks every image/label pair of a config's dataset before a long run finds a bad one.

    python tools/check_dataset.py configs/pspnet_r50_ade20k.py --split val

For each sample of the split's dataset (wrappers such as ConcatDataset and RepeatDataset
are walked), reads the image and the label map as the pipeline's ``LoadImageFromFile`` and
``LoadAnnotations`` do, applies the dataset's ``reduce_zero_label`` and label map, and
checks: both files readable, the same height and width, a single-channel label, and every
label value in ``[0, num_classes)`` or the ignore index. Problems are printed one a line
with the file at fault; the exit status is 1 when there is any (2 when the dataset itself
cannot be listed).
"""
import argparse
import os.path as osp
import sys
from multiprocessing import Pool
from typing import Iterator, List, Optional

import mmcv
import numpy as np
from mmengine import Config
from mmengine.fileio import get
from mmengine.utils import import_modules_from_strings
from tqdm import tqdm

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

SPLIT_KEYS = {'train': 'train_dataloader', 'val': 'val_dataloader', 'test': 'test_dataloader'}


def leaf_dataset_cfgs(cfg: dict) -> Iterator[dict]:
    """The datasets that list files, inside ConcatDataset/RepeatDataset-like wrappers."""
    if 'datasets' in cfg:
        for sub in cfg['datasets']:
            yield from leaf_dataset_cfgs(sub)
    elif 'dataset' in cfg:
        yield from leaf_dataset_cfgs(cfg['dataset'])
    else:
        yield cfg


def check_pair(sample: dict) -> List[str]:
    """Problems of one sample, each naming its file."""
    problems = []
    img_path, seg_path = sample['img_path'], sample.get('seg_map_path')
    image = label = None
    try:
        image = mmcv.imfrombytes(get(img_path), flag='color', backend='cv2')
        if image is None:
            raise ValueError('cannot decode')
    except Exception as error:
        problems.append(f'{img_path}: unreadable image ({error})')
    if seg_path is None:
        return problems
    try:
        label = mmcv.imfrombytes(get(seg_path), flag='unchanged', backend='pillow')
        if label is None:
            raise ValueError('cannot decode')
        label = label.squeeze()
    except Exception as error:
        problems.append(f'{seg_path}: unreadable label map ({error})')
        return problems
    if label.ndim != 2:
        problems.append(f'{seg_path}: label map has shape {label.shape}, expected a '
                        'single channel of class indices (a colour-coded label?)')
        return problems
    if image is not None and image.shape[:2] != label.shape:
        problems.append(f'{seg_path}: size {label.shape[1]}x{label.shape[0]} differs from '
                        f'its image {img_path} ({image.shape[1]}x{image.shape[0]})')
    if label.max() > 255 or label.min() < 0:
        problems.append(f'{seg_path}: values {int(label.min())}..{int(label.max())} do not '
                        'fit the 8-bit labels LoadAnnotations reads')
        return problems
    label = label.astype(np.uint8)
    if sample['reduce_zero_label']:
        label[label == 0] = 255
        label = label - 1
        label[label == 254] = 255
    if sample.get('label_map'):
        mapped = label.copy()
        for old_id, new_id in sample['label_map'].items():
            mapped[label == old_id] = new_id
        label = mapped
    values = np.unique(label)
    bad = values[(values >= sample['num_classes']) & (values != sample['ignore_index'])]
    if len(bad):
        problems.append(f'{seg_path}: label values {bad.tolist()} outside 0..'
                        f"{sample['num_classes'] - 1} (ignore index {sample['ignore_index']}"
                        f"{', after reduce_zero_label' if sample['reduce_zero_label'] else ''})")
    return problems


def list_samples(config: str, split: str) -> List[dict]:
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    cfg = Config.fromfile(config)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    register_all_modules(init_default_scope=True)
    key = SPLIT_KEYS[split]
    if not cfg.get(key):
        raise ValueError(f'{config} has no {key}')
    samples = []
    for dataset_cfg in leaf_dataset_cfgs(cfg[key]['dataset']):
        dataset = DATASETS.build(dict(dataset_cfg, pipeline=[], lazy_init=False))
        num_classes = len(dataset.metainfo['classes'])
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            samples.append(dict(img_path=info['img_path'], seg_map_path=info.get('seg_map_path'),
                                reduce_zero_label=info.get('reduce_zero_label', False),
                                label_map=info.get('label_map'), num_classes=num_classes,
                                ignore_index=dataset.ignore_index))
    return samples


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='training/test config file')
    parser.add_argument('--split', choices=list(SPLIT_KEYS), default='train')
    parser.add_argument('--nproc', type=int, default=1, help='worker processes')
    args = parser.parse_args(argv)
    try:
        samples = list_samples(args.config, args.split)
    except Exception as error:
        print(f'error: cannot list the {args.split} dataset of {args.config}: {error}',
              file=sys.stderr)
        return 2
    problems: List[str] = []
    if args.nproc > 1:
        with Pool(args.nproc) as pool:
            results = pool.imap(check_pair, samples, chunksize=16)
            for found in tqdm(results, total=len(samples), desc=f'checking {args.split}'):
                problems += found
    else:
        for sample in tqdm(samples, desc=f'checking {args.split}'):
            problems += check_pair(sample)
    for problem in problems:
        print(f'PROBLEM {problem}')
    print(f'{args.split}: {len(samples)} samples checked, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
