"""PSPNet's 3x3 bottleneck conv computed on the pooled maps, without the concat.

The bottleneck of the Pyramid Pooling Module convolves the concat
``[x, up(p_1), ..., up(p_n)]`` of the backbone feature ``x`` (``C`` channels, ``H x W``)
and the bilinearly upsampled pyramid levels ``p_i`` (``c_i`` channels, ``s_i x s_i``
bins). For PSPNet-R50-D8 that is a 4096 -> 512 channel 3x3 conv at 64x64, about 43% of
the model's multiply-adds, half of them spent on maps that are upsampled from at most
6x6 values.

The conv is linear in its input channels, so it splits into one conv per concat part
with the matching slice ``W_i`` of the weight, and the parts add up. Bilinear
upsampling acts on each channel alone and is separable: ``up(p) = Uy @ p @ Ux^T`` with
the interpolation matrices ``Uy`` (``H x s``) and ``Ux`` (``W x s``). Tap ``(ky, kx)``
of a zero-padded 3x3 conv reads its input shifted by ``(ky - 1, kx - 1)`` with zeros
shifted in, and a shifted ``Uy @ p @ Ux^T`` is ``Uy_ky @ p @ Ux_kx^T``, where ``Uy_ky``
is ``Uy`` with its rows shifted by ``ky - 1`` and zero-filled (the conv's zero padding).
Hence, with ``W_i[ky, kx]`` the ``out x c_i`` matrix of one tap::

    conv3x3(up(p_i)) = sum over ky, kx of  Uy_ky @ (W_i[ky, kx] p_i) @ Ux_kx^T

``W_i[ky, kx] p_i`` mixes the channels on the ``s_i x s_i`` bins only, and the two
small matrices bring the result to ``H x W``. :func:`pyramid_bottleneck_conv` computes
the ``x`` part with an ordinary conv on the ``C`` backbone channels and each pyramid
part with two small matmuls (the channel mix per tap on the bins, then ``Uy_ky``); the
``Ux_kx`` products of all levels and the sum with the ``x`` part are one last matmul.
Neither the concat nor an upsampled map is ever built, in the forward pass or in what
autograd keeps for the backward pass, and the pyramid half of the bottleneck costs ``out x (9 sum c_i s_i t_i + 9 H sum s_i t_i + 3 H W sum t_i)``
multiply-adds instead of ``out x 9 sum c_i x H x W`` (PSPNet-R50-D8 at 512x512: 0.21
instead of 38.7 GMAC).

The result equals the plain computation up to float rounding (a different summation
order): the interpolation matrices are made by :func:`torch.nn.functional.interpolate`
itself, applied to an identity matrix, so they hold exactly the weights it uses, for
``align_corners`` True or False and any sizes. Only plain torch ops are used (conv2d,
interpolate, pad, slicing, matmul), so autograd, ``torch.compile`` and
``torch.onnx.export(dynamo=True)`` see an ordinary graph.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks.wrappers import Conv2d as MMCVConv2d

# Conv classes whose forward is exactly ``F.conv2d(x, weight, bias, ...)``; others (e.g.
# weight-standardised convs from ``conv_cfg``) change the weight on the fly.
_PLAIN_CONVS = (nn.Conv2d, MMCVConv2d)


def bilinear_matrix(out_size: int, in_size: int, align_corners: bool,
                    device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The ``out_size x in_size`` matrix of 1-D bilinear resizing, as torch computes it.

    Row ``h`` holds the weights that ``F.interpolate(mode='bilinear', size=...)`` gives
    the input samples for output sample ``h``: the matrix is that call applied to an
    identity (the width axis is left at size 1, where the weights are exactly 1 and 0).

    Args:
        out_size (int): Output length (``H`` or ``W`` of the feature map).
        in_size (int): Input length (the number of bins).
        align_corners (bool): ``align_corners`` of the resize.
        device (torch.device): Device of the result.
        dtype (torch.dtype): Dtype of the result.

    Returns:
        torch.Tensor: ``(out_size, in_size)``.
    """
    identity = torch.eye(in_size, device=device, dtype=dtype).reshape(1, in_size, in_size, 1)
    resized = F.interpolate(identity, size=(out_size, 1), mode='bilinear',
                            align_corners=align_corners)
    return resized[0, :, :, 0].transpose(0, 1)


def shifted_taps(matrix: torch.Tensor) -> torch.Tensor:
    """The three row shifts of an interpolation matrix seen by a padded 3x3 conv.

    Args:
        matrix (torch.Tensor): ``(L, s)`` interpolation matrix.

    Returns:
        torch.Tensor: ``(3, L, s)``; entry ``k`` has row ``h`` equal to row ``h + k - 1``
        of ``matrix``, zero where that row is outside ``[0, L)`` (the conv's padding).
    """
    length = matrix.shape[0]
    padded = F.pad(matrix, (0, 0, 1, 1))
    return torch.stack([padded[k:k + length] for k in range(3)])


def pyramid_bottleneck_conv(x: torch.Tensor, pooled: Sequence[torch.Tensor],
                            weight: torch.Tensor, bias: Optional[torch.Tensor],
                            align_corners: bool) -> torch.Tensor:
    """``conv3x3(cat([x, up(p_1), ..., up(p_n)]))`` without the concat or the upsampling.

    Args:
        x (torch.Tensor): Backbone feature ``(N, C, H, W)``.
        pooled (Sequence[torch.Tensor]): Pyramid levels before upsampling,
            ``(N, c_i, s_i, t_i)`` each, in concat order.
        weight (torch.Tensor): Conv weight ``(out, C + sum c_i, 3, 3)``.
        bias (torch.Tensor | None): Conv bias ``(out,)``.
        align_corners (bool): ``align_corners`` of the bilinear upsampling that the plain
            computation applies to each level.

    Returns:
        torch.Tensor: ``(N, out, H, W)``, the conv output (before norm and activation).
    """
    batch, height, width = x.shape[0], x.shape[-2], x.shape[-1]
    widths = [x.shape[1]] + [p.shape[1] for p in pooled]
    if sum(widths) != weight.shape[1]:
        raise ValueError(f'the bottleneck conv takes {weight.shape[1]} input channels, '
                         f'the backbone feature and pyramid levels have {widths}')
    weights = weight.split(widths, dim=1)
    out = F.conv2d(x, weights[0], bias, padding=1)
    if not pooled:
        return out
    out_channels = weight.shape[0]
    y_parts, x_parts = [], []
    for level, level_weight in zip(pooled, weights[1:]):
        channels, bins_y, bins_x = level.shape[1:]
        interp_y = shifted_taps(bilinear_matrix(height, bins_y, align_corners, x.device,
                                                x.dtype))  # (3, H, s) as [ky, h, a]
        interp_x = shifted_taps(bilinear_matrix(width, bins_x, align_corners, x.device,
                                                x.dtype))  # (3, W, t) as [kx, w, b]
        # W_i[ky, kx] p_i, one (9 x c) @ (c x N s t) product per output channel; the
        # transposed weight slice is read in place.
        mixed = torch.matmul(level_weight.flatten(2).transpose(1, 2),
                             level.transpose(0, 1).reshape(channels, -1))
        # -> [(n, o), (ky, a), (kx, b)]
        mixed = mixed.view(out_channels, 3, 3, batch, bins_y, bins_x)
        mixed = mixed.permute(3, 0, 1, 4, 2, 5).reshape(batch * out_channels, 3 * bins_y,
                                                         3 * bins_x)
        # Uy_ky @ (...) summed over ky: [(n, o), h, (kx, b)]
        y_parts.append(torch.matmul(interp_y.permute(1, 0, 2).reshape(height, 3 * bins_y),
                                    mixed))
        x_parts.append(interp_x.permute(0, 2, 1).reshape(3 * bins_x, width))  # [(kx, b), w]
    # (...) @ Ux_kx^T summed over kx and over the levels, added to the x part, in one
    # product: [(n, o, h), w].
    along_x = torch.cat(x_parts, dim=0)
    along_y = torch.cat(y_parts, dim=2).reshape(-1, along_x.shape[0])
    summed = torch.addmm(out.reshape(-1, width), along_y, along_x)
    return summed.view(out.shape)


def fast_bottleneck_unsupported(bottleneck: ConvModule) -> Optional[str]:
    """Why :func:`pyramid_bottleneck_conv` cannot replace this ConvModule's conv, if so.

    The identity needs a conv whose forward is exactly ``F.conv2d`` with zero padding 1,
    kernel 3, stride 1, no dilation or groups, applied first in the module (a bias is
    fine: it is added once). A conv from ``conv_cfg`` that rewrites its weight (e.g.
    weight standardisation), spectral norm, explicit (non-zero) padding or another
    layer order are not covered.

    Args:
        bottleneck (ConvModule): The head's bottleneck.

    Returns:
        str | None: The reason, or None when the fast path is exact.
    """
    conv = bottleneck.conv
    if type(conv) not in _PLAIN_CONVS:
        return f'the conv is a {type(conv).__name__} (conv_cfg), not a plain Conv2d'
    if bottleneck.with_explicit_padding or conv.padding_mode != 'zeros':
        return 'the conv does not pad with zeros'
    geometry = (tuple(conv.kernel_size), tuple(conv.stride), tuple(conv.padding),
                tuple(conv.dilation), conv.groups)
    if geometry != ((3, 3), (1, 1), (1, 1), (1, 1), 1):
        return f'the conv geometry (kernel, stride, padding, dilation, groups) is {geometry}'
    if getattr(bottleneck, 'with_spectral_norm', False):
        return 'the conv uses spectral norm'
    if bottleneck.order[0] != 'conv':
        return f'the ConvModule order {bottleneck.order} does not start with the conv'
    return None
