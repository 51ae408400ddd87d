"""FCNAuxHead: MMSegmentation's FCNHead(num_convs=1, concat_input=False) under our name."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models.decode_heads import FCNHead
from mmseg.structures import SegDataSample

from mmseg_psp_ext.models import FCNAuxHead

ARGS = dict(in_channels=32, in_index=2, channels=8, num_classes=4, dropout_ratio=0.1,
            norm_cfg=dict(type='BN'))


def test_keys_and_outputs_equal_mmseg_fcnhead():
    ours = FCNAuxHead(**ARGS).eval()
    theirs = FCNHead(num_convs=1, concat_input=False, **ARGS).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert 'convs.0.conv.weight' in ours.state_dict()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    feats = [torch.rand(1, 4, 8, 8), torch.rand(1, 8, 8, 8), torch.rand(1, 32, 8, 8)]
    with torch.no_grad():
        assert torch.equal(ours(feats), theirs(feats))
    assert ours.convs[0].conv.kernel_size == (3, 3)


@pytest.mark.parametrize('weight', [0.4, 0.9])
def test_loss_weight_scales_the_loss(weight):
    torch.manual_seed(0)
    head = FCNAuxHead(loss_decode=dict(type='CrossEntropyLoss', loss_weight=weight), **ARGS)
    unit = FCNAuxHead(loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0), **ARGS)
    unit.load_state_dict(head.state_dict())
    head.eval(), unit.eval()  # no dropout: the same logits
    feats = [None, None, torch.rand(2, 32, 8, 8)]
    sample = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 4, (1, 16, 16))))
    sample.set_metainfo(dict(img_shape=(16, 16)))
    loss = head.loss(feats, [sample, sample], train_cfg={})['loss_ce']
    ref = unit.loss(feats, [sample, sample], train_cfg={})['loss_ce']
    assert torch.allclose(loss, weight * ref)


def test_gradients_reach_every_parameter():
    head = FCNAuxHead(num_convs=2, **ARGS).train()
    head([None, None, torch.rand(2, 32, 8, 8)]).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in head.parameters())


def test_zero_convs_is_refused():
    with pytest.raises(ValueError, match='num_convs=0'):
        FCNAuxHead(num_convs=0, **ARGS)
