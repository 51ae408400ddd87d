"""Checks every image/label pair of a config's dataset before a long run finds a bad one.

    python tools/check_dataset.py configs/pspnet_r50_ade20k.py --split val
    python tools/check_dataset.py CONFIG --cfg-options train_dataloader.dataset.data_root=PATH

For each sample of the split's dataset (wrappers such as ConcatDataset and RepeatDataset
are walked), reads the image and the label map as the pipeline's ``LoadImageFromFile`` and
``LoadAnnotations`` do, applies the dataset's ``reduce_zero_label`` and label map, and
checks: both files present and readable (a JPEG must not be truncated), the same height
and width, a single-channel label, and every label value in ``[0, num_classes)`` or the
ignore index. ``--nproc`` processes (2 by default) share the work, with a progress bar.
Problems are printed one a line with the file at fault; the exit status is 1 when there
is any (2 when the dataset itself cannot be listed). Training runs the same checks per
sample (``CheckSegSample``), and before iteration 1 with the dataset's ``full_check=True``.
"""
import argparse
import os.path as osp
import sys
from typing import Iterator, List, Optional

from mmengine import Config, DictAction
from mmengine.utils import import_modules_from_strings

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


def list_samples(config: str, split: str, cfg_options: Optional[dict] = None) -> List[dict]:
    """Every sample of the split, with what ``check_pair`` needs to know of its dataset."""
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    from mmseg_psp_ext.datasets import DataRootCheckMixin

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg['custom_imports'])
    register_all_modules(init_default_scope=True)
    key = SPLIT_KEYS[split]
    if not cfg.get(key):
        raise ValueError(f'{config} has no {key}')
    samples = []
    for dataset_cfg in leaf_dataset_cfgs(cfg[key]['dataset']):
        dataset_cfg = dict(dataset_cfg, pipeline=[], lazy_init=True)
        for switch in ('full_check', 'skip_bad_samples'):  # the tool reports; it skips nothing
            dataset_cfg.pop(switch, None)
        dataset = DATASETS.build(dataset_cfg)
        if isinstance(dataset, DataRootCheckMixin):
            dataset.check_listing = False  # missing files are reported with the rest
        dataset.full_init()
        num_classes = len(dataset.metainfo['classes'])
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            samples.append(dict(img_path=info['img_path'], seg_map_path=info.get('seg_map_path'),
                                reduce_zero_label=info.get('reduce_zero_label', False),
                                label_map=info.get('label_map'), num_classes=num_classes,
                                ignore_index=dataset.ignore_index))
    return samples


def main(argv: Optional[List[str]] = None) -> int:
    from mmseg_psp_ext import quiet_framework_logs
    from mmseg_psp_ext.datasets.sample_check import check_pairs
    quiet_framework_logs()  # known-harmless framework warnings, see the docs

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='training/test config file')
    parser.add_argument('--split', choices=list(SPLIT_KEYS), default='train')
    parser.add_argument('--nproc', type=int, default=2, help='worker processes (default 2)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, as in tools/train.py: key=value pairs such as '
        'train_dataloader.dataset.data_root=PATH')
    args = parser.parse_args(argv)
    try:
        samples = list_samples(args.config, args.split, args.cfg_options)
    except Exception as error:
        print(f'error: cannot list the {args.split} dataset of {args.config}: {error}',
              file=sys.stderr)
        return 2
    problems = check_pairs(samples, args.nproc, desc=f'checking {args.split}',
                           progress=not args.no_progress)
    for problem in problems:
        print(f'PROBLEM {problem}')
    print(f'{args.split}: {len(samples)} samples checked, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
