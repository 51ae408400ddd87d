"""Every config under configs/ parses and builds its model; paper rows hold their settings."""
import copy
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmseg_psp_ext  # noqa: F401  (registers the plugin)
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO, 'configs')
ALL_CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True)
    if '_base_' not in p.split(osp.sep))
PAPER = sorted(glob.glob(osp.join(CONFIG_DIR, 'paper', '*.py')))
ZOO = sorted(glob.glob(osp.join(CONFIG_DIR, 'zoo', '*.py')))
CONVERTED = sorted(glob.glob(osp.join(CONFIG_DIR, 'converted', '*.py')))
DEMO = sorted(glob.glob(osp.join(CONFIG_DIR, 'demo', '*.py')))
BASES = sorted(glob.glob(osp.join(CONFIG_DIR, '_base_', '**', '*.py'), recursive=True))


def rel(path):
    return osp.relpath(path, CONFIG_DIR)


def test_config_counts():
    # A path mistake would make the parametrised tests below vacuous.
    assert len(PAPER) == 19
    assert len(ZOO) == 16
    assert len(CONVERTED) == 12  # pspnet{50,101} x {ade20k,voc12,cityscapes} x {semseg,caffe}
    assert len(DEMO) == 2  # PSPNet and its dilated-FCN baseline on the context demo
    # + 3 amp/, configs/pspnet_r50_ade20k.py and its authors-protocol test config configs/eval/
    assert len(ALL_CONFIGS) == 19 + 16 + 12 + 2 + 3 + 1 + 1
    assert len(BASES) == 27  # 9 datasets, 6 models, 8 schedules, runtime, 3 protocols


def bn_model_cfg(cfg):
    """The model config with SyncBN -> BN and no pretrained weights to fetch."""
    model = copy.deepcopy(cfg.model)

    def swap(node):
        if isinstance(node, dict):
            if node.get('type') == 'SyncBN':
                node['type'] = 'BN'
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)

    swap(model)
    model['pretrained'] = None
    model['backbone']['init_cfg'] = None
    return model


@pytest.mark.parametrize('path', BASES, ids=rel)
def test_base_parses(path):
    Config.fromfile(path)


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=rel)
def test_config_builds_model(path):
    cfg = Config.fromfile(path)
    init_default_scope('mmseg')
    with torch.device('meta'):  # no memory, no init cost, even for ResNet269
        model = MODELS.build(bn_model_cfg(cfg))
    assert type(model.backbone).__name__ == 'DilatedResNet'
    assert type(model.decode_head).__name__ == 'PPMHead'
    assert model.backbone.depth == cfg.model.backbone.depth
    # every stage-4 3x3 conv is dilated 4 (output stride 8) in both families
    last = model.backbone.layer4[-1]  # Bottleneck dilates conv2, BasicBlock conv1
    assert (last.conv2 if hasattr(last, 'conv3') else last.conv1).dilation == (4, 4)
    assert model.backbone.layer3[0].conv2.stride == (1, 1)
    num_classes = {'ade20k': 150, 'voc12': 21, 'cityscapes': 19, 'context_demo': 8}
    dataset = next(k for k in num_classes if k in osp.basename(path))
    assert model.decode_head.num_classes == num_classes[dataset]


# Each paper config: (depth, pool_scales, pool_type, reduce_dim, aux weight or None,
# iterations, crop, rotation and blur on?). Written from the paper, not from the configs.
A = '8xb2-150k_ade20k-473x473.py'
PAPER_ROWS = {
    f'fcn_r50-d8_{A}': (50, (), 'avg', True, 0.4, 150000, 473, True),
    f'fcn_r50-d8-noaux_{A}': (50, (), 'avg', True, None, 150000, 473, True),
    f'fcn_r50-d8-noaux-noaug_{A}': (50, (), 'avg', True, None, 150000, 473, False),
    f'fcn_r50-d8-aux0.3_{A}': (50, (), 'avg', True, 0.3, 150000, 473, True),
    f'fcn_r50-d8-aux0.6_{A}': (50, (), 'avg', True, 0.6, 150000, 473, True),
    f'fcn_r50-d8-aux0.9_{A}': (50, (), 'avg', True, 0.9, 150000, 473, True),
    f'pspnet-b1-max_r50-d8_{A}': (50, (1, ), 'max', False, 0.4, 150000, 473, True),
    f'pspnet-b1-ave_r50-d8_{A}': (50, (1, ), 'avg', False, 0.4, 150000, 473, True),
    f'pspnet-b1236-max_r50-d8_{A}': (50, (1, 2, 3, 6), 'max', False, 0.4, 150000, 473, True),
    f'pspnet-b1236-ave_r50-d8_{A}': (50, (1, 2, 3, 6), 'avg', False, 0.4, 150000, 473, True),
    f'pspnet-b1236-max-dr_r50-d8_{A}': (50, (1, 2, 3, 6), 'max', True, 0.4, 150000, 473, True),
    f'pspnet_r50-d8_{A}': (50, (1, 2, 3, 6), 'avg', True, 0.4, 150000, 473, True),
    f'pspnet_r101-d8_{A}': (101, (1, 2, 3, 6), 'avg', True, 0.4, 150000, 473, True),
    f'pspnet_r152-d8_{A}': (152, (1, 2, 3, 6), 'avg', True, 0.4, 150000, 473, True),
    f'pspnet_r269-d8_{A}': (269, (1, 2, 3, 6), 'avg', True, 0.4, 150000, 473, True),
    'pspnet_r101-d8_8xb2-30k_voc12aug-473x473.py':
        (101, (1, 2, 3, 6), 'avg', True, 0.4, 30000, 473, True),
    'pspnet_r101-d8_8xb2-30k_voc12aug-473x473_coco-pretrain.py':
        (101, (1, 2, 3, 6), 'avg', True, 0.4, 30000, 473, True),
    'pspnet_r101-d8_8xb2-90k_cityscapes-713x713.py':
        (101, (1, 2, 3, 6), 'avg', True, 0.4, 90000, 713, False),
    'pspnet_r101-d8_8xb2-90k_cityscapes-fine-coarse-713x713.py':
        (101, (1, 2, 3, 6), 'avg', True, 0.4, 90000, 713, False),
}


def test_paper_rows_cover_configs():
    assert sorted(PAPER_ROWS) == sorted(osp.basename(p) for p in PAPER)


def train_pipeline(cfg):
    dataset = cfg.train_dataloader.dataset
    return dataset.get('pipeline') or dataset.datasets[0].pipeline


@pytest.mark.parametrize('name', sorted(PAPER_ROWS))
def test_paper_config_settings(name):
    depth, scales, pool, dr, aux, iters, crop, rotate_blur = PAPER_ROWS[name]
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'paper', name))
    model = cfg.model
    # the authors' architecture: stem 64-64-128, no contracted dilation, align_corners
    assert model.backbone.stem_channels == 128
    assert model.backbone.contract_dilation is False
    assert (model.backbone.depth, tuple(model.decode_head.pool_scales),
            model.decode_head.pool_type, model.decode_head.reduce_dim) == (depth, scales, pool, dr)
    assert model.decode_head.align_corners is True
    assert model.decode_head.norm_cfg.type == 'SyncBN'
    if aux is None:
        assert model.auxiliary_head is None
    else:
        assert model.auxiliary_head.loss_decode.loss_weight == aux
        assert model.auxiliary_head.in_channels == 1024
    # section 5.1: SGD 0.01, momentum 0.9, wd 1e-4, poly 0.9, heads 10x, batch 8 x 2
    opt = cfg.optim_wrapper
    assert (opt.optimizer.type, opt.optimizer.lr, opt.optimizer.momentum,
            opt.optimizer.weight_decay) == ('SGD', 0.01, 0.9, 1e-4)
    assert opt.paramwise_cfg.custom_keys == {
        'decode_head': dict(lr_mult=10.), 'auxiliary_head': dict(lr_mult=10.)}
    [poly] = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min, poly.end) == ('PolyLR', 0.9, 0., iters)
    assert cfg.train_cfg.max_iters == iters
    assert re.search(r'_8xb2-', name) and cfg.train_dataloader.batch_size == 2
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=16)
    # crops, augmentation and the test window
    assert model.data_preprocessor.size == (crop, crop)
    types = [t['type'] for t in train_pipeline(cfg)]
    assert dict(type='RandomCrop', crop_size=(crop, crop)) in train_pipeline(cfg)
    assert ('RandomRotate' in types and 'RandomGaussianBlur' in types) == rotate_blur
    assert ('RandomRescale' in types and 'RandomFlip' in types) == ('noaug' not in name)
    if rotate_blur:
        rotate = next(t for t in train_pipeline(cfg) if t['type'] == 'RandomRotate')
        assert (rotate.degree, rotate.seg_pad_val) == (10, 255)
    assert 'PhotoMetricDistortion' not in types
    stride = -(-2 * crop // 3)  # ceil(2/3 crop): 316 / 476
    assert model.type == 'PSPEncoderDecoder'
    assert model.test_cfg == dict(
        mode='authors', crop_size=(crop, crop), stride=(stride, stride),
        base_size=2048 if crop == 713 else 512, scales=(1.0, ), flip=True,
        long_side='caffe', pad='corner')
    assert [t['type'] for t in cfg.test_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'CheckSegSample',
        'PackSegInputs']  # the model resizes


def test_paper_resnet_stem_and_dilation_built():
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'paper', f'pspnet_r50-d8_{A}'))
    init_default_scope('mmseg')
    with torch.device('meta'):
        backbone = MODELS.build(bn_model_cfg(cfg)).backbone
    assert [backbone.stem[i].out_channels for i in (0, 3, 6)] == [64, 64, 128]
    assert backbone.layer3[0].conv2.dilation == (2, 2)  # not contracted to 1
    assert backbone.layer4[0].conv2.dilation == (4, 4)  # not contracted to 2
    assert backbone.layer2[0].conv2.stride == (2, 2)  # 'pytorch' style


def test_coco_pretrain_config_loads_whole_model():
    cfg = Config.fromfile(osp.join(
        CONFIG_DIR, 'paper', 'pspnet_r101-d8_8xb2-30k_voc12aug-473x473_coco-pretrain.py'))
    assert cfg.load_from.endswith('.pth')
    assert cfg.model.backbone.init_cfg is None
