"""Writes the config of a user's folder: an ordinary config inheriting a base config.

The written file sets the dataset (``FolderSegDataset`` with the classes, palette,
split and the record of the user's mask encoding), ``num_classes`` in both heads, the
pipelines at the chosen crop size, the schedule scaled to ``iters`` and ``load_from``;
everything else comes from the base. It works with every tool that takes a config.
"""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional

from ...utils.atomic_io import atomic_write
from .inspect_folder import Inspection

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
DEFAULT_BASE = osp.join(REPO, 'configs', 'zoo', 'pspnet_r50-d8_4xb4-80k_ade20k-512x512.py')
ZOO_METAFILE = osp.join(REPO, 'configs', 'zoo', 'metafile.yaml')


@dataclass
class TrainOptions:
    """The training choices of ``tools/folder_dataset.py``.

    Args:
        base (str): The config to inherit.
        load_from (str, optional): Checkpoint to fine-tune from (default: the zoo
            checkpoint of a zoo base, else none).
        iters (int): Training iterations; validation and checkpoints every quarter.
        batch_size (int, optional): Images per GPU (default: the base's).
        crop_size (int, optional): Training crop (default: from the image sizes).
        amp (bool): Mixed precision (``AnyDeviceAmpOptimWrapper``).
        freeze_backbone (bool): Freeze the whole backbone, stem and BN statistics.
        class_weight (str, optional): ``'auto'``: loss weights from the pixel shares.
        lr (float, optional): Base learning rate (default: the base's).
        num_workers (int, optional): Data loader workers (default: the base's).
    """
    base: str = DEFAULT_BASE
    load_from: Optional[str] = None
    iters: int = 2000
    batch_size: Optional[int] = None
    crop_size: Optional[int] = None
    amp: bool = False
    freeze_backbone: bool = False
    class_weight: Optional[str] = None
    lr: Optional[float] = None
    num_workers: Optional[int] = None


def zoo_checkpoint(base: str) -> Optional[str]:
    """The published checkpoint of a ``configs/zoo`` config, from its metafile, or None."""
    if not osp.isfile(ZOO_METAFILE):
        return None
    import yaml
    with open(ZOO_METAFILE) as f:
        models = yaml.safe_load(f).get('Models', [])
    for model in models:
        if osp.abspath(osp.join(REPO, model.get('Config', ''))) == osp.abspath(base):
            return model.get('Weights')
    return None


def _fmt(value, indent: str = '') -> str:
    """``dict(key=value, ...)``, one key a line (nested dicts too), other values by repr."""
    if isinstance(value, dict) and value:
        inner = indent + '    '
        items = ''.join(f'\n{inner}{k}={_fmt(v, inner)},' for k, v in value.items())
        return f'dict({items})'
    return repr(value)


def _pipelines(crop: int, reduce_zero_label: bool) -> List[str]:
    load = f'dict(type=\'LoadAnnotations\', reduce_zero_label={reduce_zero_label})'
    return [
        'crop_size = ({0}, {0})'.format(crop),
        'train_pipeline = [\n'
        "    dict(type='LoadImageFromFile'),\n"
        f'    {load},\n'
        "    dict(type='CheckSegSample'),\n"
        f"    dict(type='RandomResize', scale=({4 * crop}, {crop}), ratio_range=(0.5, 2.0),\n"
        '         keep_ratio=True),\n'
        "    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),\n"
        "    dict(type='RandomFlip', prob=0.5),\n"
        "    dict(type='PhotoMetricDistortion'),\n"
        "    dict(type='PackSegInputs'),\n"
        ']',
        'test_pipeline = [\n'
        "    dict(type='LoadImageFromFile'),\n"
        f"    dict(type='Resize', scale=({4 * crop}, {crop}), keep_ratio=True),\n"
        f'    {load},\n'
        "    dict(type='CheckSegSample'),\n"
        "    dict(type='PackSegInputs'),\n"
        ']',
        'tta_pipeline = [\n'
        "    dict(type='LoadImageFromFile'),\n"
        "    dict(type='TestTimeAug', transforms=[\n"
        "        [dict(type='Resize', scale_factor=r, keep_ratio=True)\n"
        '         for r in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)],\n'
        "        [dict(type='RandomFlip', prob=0., direction='horizontal'),\n"
        "         dict(type='RandomFlip', prob=1., direction='horizontal')],\n"
        f'        [{load}], [dict(type=\'CheckSegSample\')], [dict(type=\'PackSegInputs\')]])\n'
        ']',
    ]


def config_text(inspection: Inspection, out: str, options: TrainOptions,
                seg_root: Optional[str], command: str = '') -> str:
    """The text of the config (see the module docstring).

    Args:
        inspection (Inspection): The folder's inspection.
        out (str): Where the config will be written (``_base_`` is relative to it).
        options (TrainOptions): The training choices.
        seg_root (str, optional): Folder of converted index masks, if any.
        command (str): The command that wrote it (for the header).
    """
    from mmengine.config import Config
    base_cfg = Config.fromfile(options.base)
    encoding = inspection.encoding
    k = len(inspection.names)
    rzl = bool(encoding['reduce_zero_label']) and seg_root is None
    crop = options.crop_size or inspection.default_crop_size()
    iters = options.iters
    interval = max(1, iters // 4)
    load_from = options.load_from or zoo_checkpoint(options.base)
    batch = options.batch_size or base_cfg.train_dataloader.batch_size
    workers = options.num_workers if options.num_workers is not None \
        else base_cfg.train_dataloader.num_workers
    stages = base_cfg.model.backbone.get('num_stages', 4)
    base_abs = osp.abspath(options.base)
    base_rel = osp.relpath(base_abs, osp.dirname(osp.abspath(out)))
    if not osp.abspath(out).startswith(osp.abspath('.') + osp.sep):
        base_rel = base_abs  # a config outside this folder: the base by its full path
    lay = inspection.layout
    head = dict(num_classes=k)
    if options.class_weight == 'auto':
        head['loss_decode'] = dict(class_weight=inspection.class_weights())
    model = dict(data_preprocessor=dict(size=(crop, crop)), decode_head=head)
    if base_cfg.model.get('auxiliary_head'):
        model['auxiliary_head'] = dict(head)
    backbone = {}
    if options.freeze_backbone:
        backbone.update(frozen_stages=stages, norm_eval=True)
    if load_from and base_cfg.model.backbone.get('init_cfg'):
        backbone['init_cfg'] = None  # the checkpoint overwrites the backbone anyway
    if backbone:
        model['backbone'] = backbone
    lines = [
        f'"""PSPNet on the folder {lay.root} (written by tools/folder_dataset.py).',
        '',
        f'    {command}' if command else '',
        '',
        f'{len(lay.pairs)} pairs, {k} classes, masks: {encoding["kind"]}'
        + (' (reduce_zero_label)' if encoding['reduce_zero_label'] else '')
        + (f', converted to index masks in {seg_root}' if seg_root else '') + '.',
        'Train with `python tools/train.py THIS_FILE` (or `mim train mmseg`, tools/dist_train.sh).',
        '"""',
        f'_base_ = [{base_rel!r}]',
        '',
        f'num_classes = {k}',
        f'data_root = {lay.root!r}',
        f'# the masks as the user saved them; tools/infer.py writes predictions back in it',
        f'mask_encoding = {_fmt(encoding)}',
        f'metainfo = dict(\n    classes={_fmt(tuple(inspection.names))},\n'
        f'    palette={_fmt([list(map(int, c)) for c in inspection.decision.palette])},\n'
        '    mask_encoding=mask_encoding)',
        f'layout = {_fmt(lay.record())}',
        f'seg_root = {seg_root!r}',
    ]
    lines += _pipelines(crop, rzl)
    dataset = ("dict(\n        _delete_=True, type='FolderSegDataset', data_root=data_root, "
               "split='{split}',\n        layout=layout, seg_root=seg_root, metainfo=metainfo,\n"
               f"        reduce_zero_label={rzl}, ignore_index=255, "
               'mask_encoding=mask_encoding,\n        pipeline={pipeline})')
    lines += [
        f'train_dataloader = dict(\n    batch_size={batch}, num_workers={workers},'
        f' persistent_workers={workers > 0},\n'
        '    dataset=' + dataset.format(split='train', pipeline='train_pipeline') + ')',
        f'val_dataloader = dict(\n    batch_size=1, num_workers={min(workers, 2)},'
        f' persistent_workers={workers > 0},\n'
        '    dataset=' + dataset.format(split='val', pipeline='test_pipeline') + ')',
        'test_dataloader = val_dataloader',
        f'model = {_fmt(model)}',
        f'max_iters = {iters}',
        f"train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, "
        f'val_interval={interval})',
        "param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, "
        'end=max_iters, by_epoch=False)]',
        f'default_hooks = dict(\n    logger=dict(interval={max(1, min(50, iters // 10))}),\n'
        f'    checkpoint=dict(by_epoch=False, interval={interval}, max_keep_ckpts=2))',
        f'load_from = {load_from!r}',
    ]
    optim_wrapper = {}
    if options.amp:
        optim_wrapper.update(type='AnyDeviceAmpOptimWrapper', loss_scale='dynamic')
    if options.lr is not None:
        optim_wrapper['optimizer'] = dict(lr=options.lr)
    if optim_wrapper:
        lines.append(f'optim_wrapper = {_fmt(optim_wrapper)}')
    return '\n'.join(lines) + '\n'


def write_config(inspection: Inspection, out: str, options: TrainOptions,
                 seg_root: Optional[str], command: str = '') -> str:
    """Writes :func:`config_text` to ``out`` atomically; returns the text."""
    text = config_text(inspection, out, options, seg_root, command)
    atomic_write(out, lambda f: f.write(text), mode='w')
    return text
