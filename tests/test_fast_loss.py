"""The banded cross-entropy of upsampled logits against MMSegmentation's computation.

``upsampled_cross_entropy`` against ``F.cross_entropy(F.interpolate(...))`` in float64
(per-pixel losses and logit gradients), and the heads' ``loss_by_feat`` with the fast
loss against MMSegmentation's ``BaseDecodeHead.loss_by_feat`` (loss terms, ``acc_seg``
and gradients) with the same weights.
"""
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.decode_heads import FCNHead, PSPHead
from mmseg.registry import TASK_UTILS
from mmseg.structures import SegDataSample
from torch.utils._pytree import tree_flatten
from torch.utils._python_dispatch import TorchDispatchMode

from mmseg_psp_ext.models import FCNAuxHead, PPMHead
from mmseg_psp_ext.models.decode_heads.fast_loss import fast_loss_unsupported
from mmseg_psp_ext.models.losses import upsampled_cross_entropy

UCE = sys.modules['mmseg_psp_ext.models.losses.upsampled_cross_entropy']
IGNORE = 255


def relative(ours: torch.Tensor, reference: torch.Tensor) -> float:
    scale = reference.abs().max()
    assert scale > 0, 'vacuous comparison of zeros'
    return ((ours - reference).abs().max() / scale).item()


def labels(shape, classes: int, seed: int = 0, ignored: float = 0.2) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    label = torch.randint(0, classes, shape, generator=gen)
    label[torch.rand(shape, generator=gen) < ignored] = IGNORE
    return label


def plain(logits, label, align_corners):
    up = F.interpolate(logits, size=label.shape[-2:], mode='bilinear',
                       align_corners=align_corners)
    return F.cross_entropy(up, label, reduction='none', ignore_index=IGNORE), up.argmax(1)


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('shape,size', [
    ((2, 5, 8, 8), (64, 64)),      # the 1/8 logits of a crop
    ((3, 4, 7, 9), (29, 37)),      # odd, non-square, not a multiple
    ((1, 6, 1, 1), (5, 4)),        # a single logit pixel
    ((2, 3, 12, 10), (6, 5)),      # labels smaller than the logits
])
@pytest.mark.parametrize('band_elements', [1, 1 << 20])
def test_equals_cross_entropy_of_interpolate(monkeypatch, align_corners, shape, size,
                                             band_elements):
    # band_elements=1 makes every label row a band of its own.
    monkeypatch.setattr(UCE, '_BAND_ELEMENTS', band_elements)
    gen = torch.Generator().manual_seed(1)
    logits = (torch.randn(shape, generator=gen, dtype=torch.float64) * 3)
    label = labels((shape[0], *size), shape[1])
    ours_in = logits.clone().requires_grad_()
    ref_in = logits.clone().requires_grad_()
    losses, hits = upsampled_cross_entropy(ours_in, label, IGNORE, align_corners)
    ref_losses, ref_pred = plain(ref_in, label, align_corners)
    assert losses.dtype == torch.float64 and losses.shape == label.shape
    assert relative(losses, ref_losses) <= 1e-12
    assert torch.equal(hits, (ref_pred == label) & (label != IGNORE))
    assert (losses[label == IGNORE] == 0).all()
    probe = torch.rand(label.shape, generator=gen, dtype=torch.float64)
    (losses * probe).sum().backward()
    (ref_losses * probe).sum().backward()
    assert relative(ours_in.grad, ref_in.grad) <= 1e-12


def test_float32_on_a_real_size():
    # The decode head of PSPNet-R50 on ADE20K: 150 classes, 64x64 logits, 512x512 labels.
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(1, 150, 64, 64, generator=gen) * 4
    label = labels((1, 512, 512), 150)
    ours_in = logits.clone().requires_grad_()
    ref_in = logits.clone().requires_grad_()
    losses, hits = upsampled_cross_entropy(ours_in, label, IGNORE, False)
    ref_losses, ref_pred = plain(ref_in, label, False)
    assert relative(losses, ref_losses) <= 1e-5
    assert (hits == ((ref_pred == label) & (label != IGNORE))).float().mean() >= 0.9999
    losses.mean().backward()
    ref_losses.mean().backward()
    assert relative(ours_in.grad, ref_in.grad) <= 1e-5


def test_bf16_logits_are_lifted_to_float32_under_autocast():
    # What autocast does for the plain computation: cross_entropy runs in float32.
    gen = torch.Generator().manual_seed(3)
    logits = (torch.randn(2, 4, 6, 6, generator=gen) * 3).bfloat16().requires_grad_()
    label = labels((2, 24, 24), 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses, _ = upsampled_cross_entropy(logits, label, IGNORE, False)
    assert losses.dtype == torch.float32
    ref_in = logits.detach().float().requires_grad_()
    ref_losses, _ = plain(ref_in, label, False)
    assert relative(losses, ref_losses) <= 1e-6
    losses.sum().backward()
    ref_losses.sum().backward()
    assert logits.grad.dtype == torch.bfloat16
    assert relative(logits.grad.float(), ref_in.grad) <= 1e-2  # bf16 rounding of the grad


def test_bad_labels_and_shapes_are_named():
    logits = torch.randn(1, 3, 4, 4)
    with pytest.raises(ValueError, match=r'label values \[3, 7\].*0\.\.2.*ignore_index=255'):
        upsampled_cross_entropy(logits, torch.tensor([[[0, 3], [7, 255]]]), IGNORE)
    with pytest.raises(ValueError, match=r'\(1, 3, 4, 4\) and \(8, 8\)'):
        upsampled_cross_entropy(logits, torch.zeros(8, 8, dtype=torch.long), IGNORE)


class _LargestOutput(TorchDispatchMode):
    """The element count of the largest tensor any aten op returns."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        for t in tree_flatten(result)[0]:
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return result


def test_never_builds_the_upsampled_logits(monkeypatch):
    monkeypatch.setattr(UCE, '_BAND_ELEMENTS', 4096)
    logits = torch.randn(2, 20, 8, 8, requires_grad=True)
    label = labels((2, 64, 64), 20)
    with _LargestOutput() as seen:
        losses, _ = upsampled_cross_entropy(logits, label, IGNORE, False)
        losses.mean().backward()
    full = 2 * 20 * 64 * 64
    # Bands of 4096 elements, the width-upsampled logits (1/8 of full) and per-pixel maps.
    assert seen.largest <= full // 8


# --------------------------------------------------------------------------- the heads
CLASSES, H, W = 5, 40, 48


def samples(n: int = 2, ignored: float = 0.2):
    out = []
    for i in range(n):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=labels((1, H, W), CLASSES, 10 + i, ignored))
        out.append(sample)
    return out


def head_pair(kind: str, align_corners: bool, **loss):
    loss_decode = loss.pop('loss_decode', dict(type='CrossEntropyLoss', loss_weight=0.4,
                                               **loss))
    common = dict(channels=8, num_classes=CLASSES, norm_cfg=dict(type='BN'),
                  align_corners=align_corners, dropout_ratio=0.0, loss_decode=loss_decode)
    torch.manual_seed(0)
    if kind == 'ppm':
        ours = PPMHead(in_channels=16, pool_scales=(1, 2, 3, 6), **common)
        theirs = PSPHead(in_channels=16, pool_scales=(1, 2, 3, 6), **common)
    else:
        ours = FCNAuxHead(in_channels=16, num_convs=1, **common)
        theirs = FCNHead(in_channels=16, num_convs=1, concat_input=False, **common)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return ours.train(), theirs.train()


def head_losses(head, x, ignored: float = 0.2):
    head.zero_grad()
    loss = head.loss([x], samples(ignored=ignored), train_cfg={})
    sum(v for k, v in loss.items() if k.startswith('loss')).backward()
    return loss, {n: p.grad.clone() for n, p in head.named_parameters()}


@pytest.mark.parametrize('kind', ['ppm', 'fcn'])
@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_head_loss_equals_mmseg(kind, align_corners, avg_non_ignore):
    ours, theirs = head_pair(kind, align_corners, avg_non_ignore=avg_non_ignore)
    assert fast_loss_unsupported(ours) is None and ours.fast_loss
    x = torch.randn(2, 16, 6, 7, generator=torch.Generator().manual_seed(4))
    loss, grads = head_losses(ours, x)
    ref_loss, ref_grads = head_losses(theirs, x)
    assert set(loss) == set(ref_loss) == {'loss_ce', 'acc_seg'}
    assert relative(loss['loss_ce'], ref_loss['loss_ce']) <= 1e-6
    assert loss['acc_seg'].shape == ref_loss['acc_seg'].shape == (1,)
    assert torch.allclose(loss['acc_seg'], ref_loss['acc_seg'], rtol=1e-6)
    for name in ref_grads:
        assert relative(grads[name], ref_grads[name]) <= 1e-5, name


def test_two_cross_entropy_terms_keep_their_names_and_weights():
    terms = [dict(type='CrossEntropyLoss', loss_weight=1.0, loss_name='loss_a'),
             dict(type='CrossEntropyLoss', loss_weight=0.5, loss_name='loss_b'),
             dict(type='CrossEntropyLoss', loss_weight=0.25, loss_name='loss_b')]
    ours, theirs = head_pair('ppm', False, loss_decode=terms)
    assert fast_loss_unsupported(ours) is None
    x = torch.randn(2, 16, 6, 7, generator=torch.Generator().manual_seed(5))
    loss, _ = head_losses(ours, x)
    ref_loss, _ = head_losses(theirs, x)
    assert set(loss) == set(ref_loss) == {'loss_a', 'loss_b', 'acc_seg'}
    for key in ref_loss:
        assert relative(loss[key], ref_loss[key]) <= 1e-6, key


@pytest.mark.parametrize('setting,reason', [
    (dict(class_weight=[1.0, 2.0, 1.0, 1.0, 0.5]), 'class_weight'),
    (dict(use_sigmoid=True), 'sigmoid'),
    (dict(loss_decode=dict(type='DiceLoss')), 'DiceLoss'),
])
def test_other_losses_run_mmseg_computation(monkeypatch, setting, reason):
    ours, theirs = head_pair('ppm', False, **setting)
    assert reason in fast_loss_unsupported(ours)

    def refuse(*args, **kwargs):
        raise AssertionError('the fast loss ran')

    monkeypatch.setattr(sys.modules['mmseg_psp_ext.models.decode_heads.fast_loss'],
                        'upsampled_cross_entropy', refuse)
    x = torch.randn(2, 16, 6, 7, generator=torch.Generator().manual_seed(6))
    if setting.get('use_sigmoid'):
        return  # sigmoid CE wants one-hot labels; the check above is the point
    # No ignored pixels: mmsegmentation 1.2.2's class-weighted loss indexes the weights
    # with every label, 255 included, and fails.
    loss, _ = head_losses(ours, x, ignored=0.0)
    ref_loss, _ = head_losses(theirs, x, ignored=0.0)
    for key in ref_loss:
        assert torch.equal(loss[key], ref_loss[key]), key


def test_a_pixel_sampler_and_the_switch_run_mmseg_computation(monkeypatch):
    ours, _ = head_pair('fcn', False)
    monkeypatch.setattr(sys.modules['mmseg_psp_ext.models.decode_heads.fast_loss'],
                        'upsampled_cross_entropy', None)  # any call would fail
    ours.fast_loss = False
    x = torch.randn(2, 16, 6, 7)
    head_losses(ours, x)
    ours.fast_loss = True
    ours.sampler = TASK_UTILS.build(dict(type='OHEMPixelSampler', context=ours, thresh=0.7,
                                     min_kept=100))
    assert 'OHEMPixelSampler' in fast_loss_unsupported(ours)
    head_losses(ours, x)
