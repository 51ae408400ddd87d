"""PPMHead: each row of the paper's Table 1, keys, gradients and the batch-size-1 case."""
import pytest
import torch
from mmseg.models.decode_heads import PSPHead

from mmseg_psp_ext.models import PPMHead

IN, MID, CLASSES = 64, 16, 5
TABLE1 = {  # row name: (pool_scales, pool_type, reduce_dim)
    'baseline': ((), 'avg', True),
    'B1+MAX': ((1,), 'max', False),
    'B1+AVE': ((1,), 'avg', False),
    'B1236+MAX': ((1, 2, 3, 6), 'max', False),
    'B1236+AVE': ((1, 2, 3, 6), 'avg', False),
    'B1236+MAX+DR': ((1, 2, 3, 6), 'max', True),
    'B1236+AVE+DR': ((1, 2, 3, 6), 'avg', True),
}


def head(**kwargs) -> PPMHead:
    cfg = dict(in_channels=IN, channels=MID, num_classes=CLASSES, dropout_ratio=0.1,
               norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return PPMHead(**cfg)


@pytest.mark.parametrize('row', TABLE1)
def test_table1_rows_shapes_gradients_and_bottleneck_width(row):
    scales, pool, dr = TABLE1[row]
    model = head(pool_scales=scales, pool_type=pool, reduce_dim=dr)
    per_bin = MID if dr else IN
    assert model.bottleneck.conv.in_channels == IN + len(scales) * per_bin
    model.train()
    out = model([torch.rand(2, IN, 12, 12)])
    assert out.shape == (2, CLASSES, 12, 12) and torch.isfinite(out).all()
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters()
               if p.grad is None or not p.grad.abs().sum()]
    assert not missing


def test_max_and_avg_pooling_differ_and_follow_torch():
    x = torch.rand(1, IN, 12, 12)
    for pool_type, ref in (('avg', torch.nn.functional.adaptive_avg_pool2d),
                           ('max', torch.nn.functional.adaptive_max_pool2d)):
        levels = head(pool_scales=(2,), pool_type=pool_type, reduce_dim=False).psp_modules
        up = levels(x)[0]
        expected = torch.nn.functional.interpolate(ref(x, 2), size=(12, 12),
                                                   mode='bilinear', align_corners=False)
        assert torch.allclose(up, expected, atol=1e-6)


@pytest.mark.parametrize('align_corners', [False, True])
def test_align_corners_reaches_the_upsampling(align_corners):
    levels = head(pool_scales=(3,), reduce_dim=False, align_corners=align_corners).psp_modules
    x = torch.rand(1, IN, 10, 10)
    pooled = torch.nn.functional.adaptive_avg_pool2d(x, 3)
    expected = torch.nn.functional.interpolate(pooled, size=(10, 10), mode='bilinear',
                                               align_corners=align_corners)
    assert torch.allclose(levels(x)[0], expected, atol=1e-6)


def test_plain_bottleneck_equals_mmseg_psphead_with_the_same_keys():
    # Bit for bit with the plain concat + conv; the default fast bottleneck is compared
    # with PSPHead to float rounding in test_fast_bottleneck.py.
    ours = head(pool_scales=(1, 2, 3, 6), fast_bottleneck=False).eval()
    theirs = PSPHead(in_channels=IN, channels=MID, num_classes=CLASSES, dropout_ratio=0.1,
                     norm_cfg=dict(type='BN'), pool_scales=(1, 2, 3, 6)).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = [torch.rand(1, IN, 12, 12)]
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))


def test_batch_size_one_in_training_names_the_fix():
    model = head(pool_scales=(1, 2)).train()
    with pytest.raises(ValueError, match=r'1x1 pyramid bin.*batch_size.*SyncBN.*GN'):
        model([torch.rand(1, IN, 8, 8)])


def test_batch_size_one_works_in_eval_and_with_group_norm():
    with torch.no_grad():
        assert head().eval()([torch.rand(1, IN, 8, 8)]).shape == (1, CLASSES, 8, 8)
    gn = head(norm_cfg=dict(type='GN', num_groups=4)).train()
    assert gn([torch.rand(1, IN, 8, 8)]).shape == (1, CLASSES, 8, 8)


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(pool_type='median'), ValueError, "pool_type='median'"),
    (dict(pool_scales=(1, 0)), ValueError, 'pool_scales'),
    (dict(pool_scales=3), TypeError, 'pool_scales'),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        head(**kwargs)
