"""PSPNet-R50-D8 from our config against MMSegmentation's own modules, same weights."""
import copy

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_psp_ext.utils.random_weights import randomise_weights

CONFIG = 'configs/pspnet_r50_ade20k.py'
NUM_CLASSES = 150
TOL = 1e-4
# Logits of random R50 weights reach 1e4; PPMHead's fast bottleneck sums in another order
# than MMSegmentation's concat + conv, so logits are compared relative to their scale.
REL_TOL = 1e-5


def relative(ours: torch.Tensor, reference: torch.Tensor) -> float:
    """max |ours - reference| / max |reference|."""
    return ((ours - reference).abs().max() / reference.abs().max()).item()


def mmseg_reference_model() -> dict:
    """MMSegmentation's pspnet_r50-d8 base, written from its documented values."""
    norm_cfg = dict(type='BN', requires_grad=True)
    head = dict(num_classes=NUM_CLASSES, norm_cfg=norm_cfg, align_corners=False,
                dropout_ratio=0.1)
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                               seg_pad_val=255, size=(64, 64)),
        backbone=dict(type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
                      dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg,
                      norm_eval=False, style='pytorch', contract_dilation=True),
        decode_head=dict(type='PSPHead', in_channels=2048, in_index=3, channels=512,
                         pool_scales=(1, 2, 3, 6),
                         loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0), **head),
        auxiliary_head=dict(type='FCNHead', in_channels=1024, in_index=2, channels=256,
                            num_convs=1, concat_input=False,
                            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4),
                            **head),
        train_cfg=dict(), test_cfg=dict(mode='whole'))



@pytest.fixture(scope='module')
def models():
    cfg = Config.fromfile(CONFIG)
    cfg.model.pretrained = None
    cfg.model.data_preprocessor.size = (64, 64)
    ours = revert_sync_batchnorm(MODELS.build(cfg.model))
    theirs = MODELS.build(ConfigDict(mmseg_reference_model()))
    randomise_weights(ours)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours, theirs


def batch(n: int = 2, size: int = 64, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, size, size), generator=gen).float() for _ in range(n)]
    samples = []
    for _ in range(n):
        sample = SegDataSample()
        label = torch.randint(0, NUM_CLASSES, (1, size, size), generator=gen)
        label[:, :4] = 255
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                                 pad_shape=(size, size), scale_factor=(1.0, 1.0), flip=False))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_state_dicts_have_identical_keys_and_load_strictly_both_ways(models):
    ours, theirs = models
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(ours.state_dict()) == 370
    theirs.load_state_dict(ours.state_dict(), strict=True)
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()), strict=True)


def test_tensor_mode_logits_match(models):
    ours, theirs = models
    ours.eval(), theirs.eval()
    with torch.no_grad():
        data_ours = ours.data_preprocessor(batch(), False)
        data_theirs = theirs.data_preprocessor(batch(), False)
        a = ours(data_ours['inputs'], mode='tensor')
        b = theirs(data_theirs['inputs'], mode='tensor')
    assert a.shape == (2, NUM_CLASSES, 8, 8)
    assert a.abs().max() > 1e-2  # not a vacuous comparison of zeros
    assert relative(a, b) <= REL_TOL


def test_predict_mode_matches(models):
    ours, theirs = models
    ours.eval(), theirs.eval()
    with torch.no_grad():
        pa = ours.test_step(batch())
        pb = theirs.test_step(batch())
    for sa, sb in zip(pa, pb):
        assert sa.seg_logits.data.shape == (NUM_CLASSES, 64, 64)
        assert relative(sa.seg_logits.data, sb.seg_logits.data) <= REL_TOL
        assert torch.equal(sa.pred_sem_seg.data, sb.pred_sem_seg.data)


def test_loss_mode_matches(models):
    ours, theirs = models
    ours.train(), theirs.train()
    data_ours = ours.data_preprocessor(batch(), True)
    data_theirs = theirs.data_preprocessor(batch(), True)
    torch.manual_seed(7)  # the same dropout masks, drawn in the same order
    la = ours(**data_ours, mode='loss')
    torch.manual_seed(7)
    lb = theirs(**data_theirs, mode='loss')
    assert set(la) == set(lb) == {'decode.loss_ce', 'decode.acc_seg', 'aux.loss_ce',
                                  'aux.acc_seg'}
    for key in la:
        assert abs(la[key].item() - lb[key].item()) <= TOL, key
    sum(v for k, v in la.items() if 'loss' in k).backward()
    sum(v for k, v in lb.items() if 'loss' in k).backward()
    grads_b = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        assert param.grad is not None, name
        assert torch.allclose(param.grad, grads_b[name].grad, atol=1e-5, rtol=1e-3), name
