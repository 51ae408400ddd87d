"""Cross-entropy of bilinearly upsampled logits, without the full-size logits.

MMSegmentation's decode heads compute their loss as
``F.cross_entropy(resize(logits, label_size), label)``: the ``N x C x h x w`` logits
(64x64 for a 512x512 crop) are upsampled to the label size, and the upsampled map,
its log-softmax and their gradients (``N x C x H x W`` each: 315 MB for 150 classes
and two 512x512 images) are built and kept for the backward pass. That, with the
accuracy's ``topk`` over the same map, is about a third of a PSPNet-R50 training step on
the CPU and a third of its peak memory.

:func:`upsampled_cross_entropy` computes the same per-pixel losses band by band of
label rows: the logits are upsampled along the width once (``N x h x C x W``), and each
band of rows is upsampled along the height with the band's rows of the interpolation
matrix, which touch only a few logit rows. The band is ``rows x C x W``, so its
reductions over the classes (the log-softmax at the label, and the test "is the label's
logit the largest" for the accuracy) run along contiguous pixels: that layout measured
1.5 to 3 times faster than classes last for 8 to 21 classes and 5% slower for 150.
The band is then dropped. The backward pass rebuilds each band and sends
``softmax - one_hot`` back through the same two matrices. The interpolation matrices
are made by ``F.interpolate`` itself (:func:`bilinear_matrix`), so the values equal
the plain computation up to float rounding, for ``align_corners`` True or False and any
sizes.
"""
from typing import List, Optional, Tuple

import torch
from torch.autograd.function import once_differentiable

from ..decode_heads.fast_bottleneck import bilinear_matrix

# About 1M floats (4 MB) of upsampled logits per band: fastest measured on a Zen 4 CPU
# (150 classes at 512x512: 256K to 1M alike, 2M 25% slower, 4M twice as slow).
_BAND_ELEMENTS = 1 << 20


def _bands(interp_y: torch.Tensor, columns: int) -> List[Tuple[int, int, int, int]]:
    """``(r0, r1, a0, a1)`` per band: its output rows and the input rows they read.

    Args:
        interp_y (torch.Tensor): ``(H, h)`` interpolation matrix, on the CPU.
        columns (int): Values per output row (``W x C``).
    """
    height = interp_y.shape[0]
    rows = max(1, _BAND_ELEMENTS // max(1, columns))
    used = interp_y.ne(0)
    bands = []
    for r0 in range(0, height, rows):
        r1 = min(height, r0 + rows)
        support = used[r0:r1].any(0).nonzero().flatten()
        bands.append((r0, r1, int(support[0]), int(support[-1]) + 1))
    return bands


class _UpsampledCrossEntropy(torch.autograd.Function):
    """Per-pixel ``-log softmax(up(z))[y]`` and whether ``y`` wins; see the module doc."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, label: torch.Tensor, ignore_index: int,
                align_corners: bool) -> Tuple[torch.Tensor, torch.Tensor]:
        dtype = torch.float64 if logits.dtype == torch.float64 else torch.float32
        with torch.autocast(logits.device.type, enabled=False):
            batch, classes, height_in, width_in = logits.shape
            height, width = label.shape[-2:]
            interp_y = bilinear_matrix(height, height_in, align_corners, torch.device('cpu'),
                                       dtype)
            bands = _bands(interp_y, width * classes)  # on the CPU: no device syncs
            interp_y = interp_y.to(logits.device)
            interp_x = bilinear_matrix(width, width_in, align_corners, logits.device, dtype)
            # [n, a, c, w]: upsampled along the width; a band of rows is then (rows, C, W),
            # whose reductions over the classes run along contiguous pixels.
            along_x = torch.matmul(logits.to(dtype).transpose(1, 2), interp_x.t())
            valid = label != ignore_index
            target = torch.where(valid, label, torch.zeros_like(label))
            losses = torch.empty((batch, height, width), dtype=dtype, device=logits.device)
            hits = torch.empty((batch, height, width), dtype=torch.bool, device=logits.device)
            for n in range(batch):
                for r0, r1, a0, a1 in bands:
                    band = torch.matmul(interp_y[r0:r1, a0:a1],
                                        along_x[n, a0:a1].reshape(a1 - a0, -1))
                    band = band.view(r1 - r0, classes, width)
                    index = target[n, r0:r1].unsqueeze(1)
                    picked = band.gather(1, index).squeeze(1)
                    losses[n, r0:r1] = torch.log_softmax(band, dim=1).gather(
                        1, index).squeeze(1).neg_()
                    hits[n, r0:r1] = picked >= band.amax(dim=1)
            losses.masked_fill_(~valid, 0)
            hits &= valid
        ctx.save_for_backward(along_x, target, valid, interp_y, interp_x)
        ctx.logits_dtype = logits.dtype
        ctx.bands = bands
        ctx.mark_non_differentiable(hits)
        return losses, hits

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_losses: torch.Tensor, grad_hits: Optional[torch.Tensor]):
        along_x, target, valid, interp_y, interp_x = ctx.saved_tensors
        with torch.autocast(along_x.device.type, enabled=False):
            batch, _, classes, width = along_x.shape
            scale = grad_losses.to(along_x.dtype) * valid
            grad_along_x = torch.zeros_like(along_x)
            minus_one = along_x.new_full((1, 1, 1), -1.0)
            for n in range(batch):
                for r0, r1, a0, a1 in ctx.bands:
                    band = torch.matmul(interp_y[r0:r1, a0:a1],
                                        along_x[n, a0:a1].reshape(a1 - a0, -1))
                    # d(-log softmax(z)[y])/dz = softmax(z) - one_hot(y), times the grad.
                    band = torch.softmax(band.view(r1 - r0, classes, width), dim=1)
                    index = target[n, r0:r1].unsqueeze(1)
                    band.scatter_add_(1, index, minus_one.expand(index.shape))
                    band.mul_(scale[n, r0:r1].unsqueeze(1))
                    grad_along_x[n, a0:a1] += torch.matmul(
                        interp_y[r0:r1, a0:a1].t(),
                        band.view(r1 - r0, -1)).view(a1 - a0, classes, width)
            grad_logits = torch.matmul(grad_along_x, interp_x).transpose(1, 2)
        return grad_logits.to(ctx.logits_dtype).contiguous(), None, None, None


def upsampled_cross_entropy(logits: torch.Tensor, label: torch.Tensor, ignore_index: int = 255,
                            align_corners: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel cross-entropy and hits of logits upsampled to the label size.

    Equals ``F.cross_entropy(up(logits), label, reduction='none', ignore_index=...)``
    and ``(up(logits).argmax(1) == label) & (label != ignore_index)`` (up to float
    rounding; a label whose logit ties the largest counts as a hit), where ``up`` is
    ``F.interpolate(..., size=label.shape[-2:], mode='bilinear',
    align_corners=align_corners)``, without building ``up(logits)``. Computed in
    float32 (float64 for float64 logits) whatever the logits' dtype, as autocast runs
    ``cross_entropy``; the gradient comes back in the logits' dtype.

    Args:
        logits (torch.Tensor): ``(N, C, h, w)`` class logits.
        label (torch.Tensor): ``(N, H, W)`` integer labels.
        ignore_index (int): Label that adds no loss and no gradient.
        align_corners (bool): ``align_corners`` of the bilinear upsampling.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``(N, H, W)`` losses (0 at ignored pixels)
        and the ``(N, H, W)`` boolean hits (the label is the arg-max class; False at
        ignored pixels).

    Raises:
        ValueError: On mismatched shapes, or a label that is neither a class index
            (``0 <= label < C``) nor ``ignore_index``.
    """
    if logits.dim() != 4 or label.dim() != 3 or logits.shape[0] != label.shape[0]:
        raise ValueError(f'upsampled_cross_entropy: logits (N, C, h, w) and label (N, H, W) '
                         f'expected, got {tuple(logits.shape)} and {tuple(label.shape)}')
    classes = logits.shape[1]
    bad = (label != ignore_index) & ((label < 0) | (label >= classes))
    if bool(bad.any()):
        values = sorted(set(label[bad].unique().tolist()))[:10]
        raise ValueError(f'upsampled_cross_entropy: label values {values} are neither class '
                         f'indices 0..{classes - 1} nor ignore_index={ignore_index}')
    return _UpsampledCrossEntropy.apply(logits, label.long(), ignore_index, align_corners)
