"""The zoo configs hold MMSegmentation's values and load its checkpoints strictly."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmseg
import mmseg_psp_ext  # noqa: F401  (registers the plugin)
from mmseg.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ZOO = sorted(glob.glob(osp.join(REPO, 'configs', 'zoo', '*.py')))
MMSEG_PSPNET = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', 'pspnet')

# Our registered names for MMSegmentation's, and the arguments that only ours have
# (at the values that reproduce MMSegmentation's modules).
OUR_TYPES = {
    'DilatedResNet': 'ResNetV1c', 'PPMHead': 'PSPHead', 'FCNAuxHead': 'FCNHead',
    'PSPADE20KDataset': 'ADE20KDataset', 'PSPPascalVOCAugDataset': 'PascalVOCDataset',
    'PSPCityscapesDataset': 'CityscapesDataset', 'AtomicCheckpointHook': 'CheckpointHook',
    'MetricsFileLoggerHook': 'LoggerHook'
}
OUR_DEFAULTS = {'stem_channels': 64, 'pool_type': 'avg', 'reduce_dim': True}
THEIR_DEFAULTS = {'concat_input': False}


# Transforms only ours have: the per-sample data check after LoadAnnotations.
OUR_TRANSFORMS = ({'type': 'CheckSegSample'}, [{'type': 'CheckSegSample'}])


def normalise(node, types, drop):
    """Maps type names and drops arguments at their neutral values, recursively."""
    if isinstance(node, dict):
        return {k: types.get(v, v) if k == 'type' else normalise(v, types, drop)
                for k, v in node.items() if not (k in drop and drop[k] == v)}
    if isinstance(node, (list, tuple)):
        return type(node)(normalise(v, types, drop) for v in node if v not in OUR_TRANSFORMS)
    return node


COMPARED = ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
            'val_evaluator', 'test_evaluator', 'optim_wrapper', 'param_scheduler',
            'train_cfg', 'val_cfg', 'test_cfg', 'default_hooks', 'tta_model',
            'tta_pipeline', 'crop_size')


@pytest.mark.parametrize('path', ZOO, ids=osp.basename)
def test_zoo_config_equals_mmseg(path):
    assert len(ZOO) == 16
    theirs = Config.fromfile(osp.join(MMSEG_PSPNET, osp.basename(path)))
    ours = Config.fromfile(path)
    theirs = theirs.to_dict()
    # MMSegmentation's configs still use the deprecated model.pretrained; EncoderDecoder
    # hands it to the backbone as init_cfg=dict(type='Pretrained', ...), which ours state.
    pretrained = theirs['model'].pop('pretrained')
    theirs['model']['backbone']['init_cfg'] = dict(type='Pretrained', checkpoint=pretrained)
    assert 'pretrained' not in ours.model
    for key in COMPARED:
        mine = normalise(ours.to_dict()[key], OUR_TYPES, OUR_DEFAULTS)
        assert mine == normalise(theirs[key], {}, THEIR_DEFAULTS), key


def build(cfg):
    model_cfg = copy.deepcopy(cfg.model)
    for head in ('decode_head', 'auxiliary_head'):
        model_cfg[head]['norm_cfg'] = dict(type='BN', requires_grad=True)
    model_cfg['backbone']['norm_cfg'] = dict(type='BN', requires_grad=True)
    model_cfg['pretrained'] = None
    model_cfg['data_preprocessor'].pop('size', None)
    init_default_scope('mmseg')
    return MODELS.build(model_cfg)


def load_pair(name, device):
    with torch.device(device):
        ours = build(Config.fromfile(osp.join(REPO, 'configs', 'zoo', name))).eval()
        theirs = build(Config.fromfile(osp.join(MMSEG_PSPNET, name))).eval()
    assert type(theirs.backbone).__name__ == 'ResNetV1c'
    assert type(theirs.decode_head).__name__ == 'PSPHead'
    assert type(theirs.auxiliary_head).__name__ == 'FCNHead'
    return ours, theirs


@pytest.mark.slow
def test_ade20k_r50_state_dict_round_trips_strictly():
    ours, theirs = load_pair('pspnet_r50-d8_4xb4-80k_ade20k-512x512.py', 'cpu')
    # MMSegmentation's weights load strictly into ours and give the same logits (to float
    # rounding: PPMHead's fast bottleneck sums in another order) ...
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.rand(1, 3, 64, 64)
    meta = [dict(img_shape=(64, 64))]

    def relative(a, b):
        return ((a - b).abs().max() / b.abs().max()).item()

    with torch.no_grad():
        assert relative(ours.encode_decode(x, meta), theirs.encode_decode(x, meta)) <= 1e-5
        # ... and ours (changed) load strictly back into MMSegmentation's model
        for param in ours.parameters():
            param.add_(torch.randn_like(param) * 0.01)
        theirs.load_state_dict(ours.state_dict(), strict=True)
        assert relative(ours.encode_decode(x, meta), theirs.encode_decode(x, meta)) <= 1e-5
        ours.decode_head.fast_bottleneck = False  # the plain computation, bit for bit
        assert torch.equal(ours.encode_decode(x, meta), theirs.encode_decode(x, meta))
    assert len(ours.state_dict()) == 370  # PSPNET_FACTS section 4


def test_cityscapes_r101_state_dict_round_trips_strictly():
    # keys and shapes only (strict loading checks both): meta tensors cost nothing
    ours, theirs = load_pair('pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py', 'meta')
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()}
    assert ours.decode_head.conv_seg.out_channels == 19
