"""Adaptive pooling written with ops that export for any runtime input size.

``nn.AdaptiveAvgPool2d`` exports only for the size it was traced at: torch's
decomposition turns the bins into gathers with constant indices, so a graph exported
with a dynamic height and width gives wrong results (or index errors) at other sizes.
Here the bins are built from the runtime length with PyTorch's own rule, bin ``i`` of
``s`` over a length ``L`` covering ``[floor(i * L / s), ceil((i + 1) * L / s))``:
average pooling is ``A_h @ x @ A_w^T`` with per-axis averaging matrices, max pooling a
masked maximum along each axis in turn. Both equal adaptive pooling (average pooling up
to the summation order, about 1e-7 relative).

The swap happens in the export path only (:func:`exportable_adaptive_pooling`); the
training modules are untouched.
"""
from contextlib import contextmanager
from typing import Iterator, List, Tuple

import torch
import torch.nn as nn
from torch import Tensor


def bin_masks(length, bins: int, device: torch.device) -> Tuple[Tensor, Tensor]:
    """Membership of each position in each adaptive-pooling bin along one axis.

    Args:
        length (int | SymInt): Length of the axis (may be symbolic while exporting).
        bins (int): Number of output bins.
        device (torch.device): Device of the returned tensors.

    Returns:
        tuple[Tensor, Tensor]: Boolean mask of shape (bins, length) and the bin sizes,
        shape (bins, ).
    """
    index = torch.arange(bins, device=device)
    start = torch.div(index * length, bins, rounding_mode='floor')
    end = torch.div((index + 1) * length + bins - 1, bins, rounding_mode='floor')
    position = torch.arange(length, device=device)
    mask = (position[None, :] >= start[:, None]) & (position[None, :] < end[:, None])
    return mask, end - start


def _pool_axis(x: Tensor, bins: int, axis: int, pool_type: str) -> Tensor:
    """Adaptive pooling of ``x`` (N, C, H, W) along ``axis`` (2 or 3) to ``bins``."""
    mask, size = bin_masks(x.shape[axis], bins, x.device)
    if pool_type == 'avg':
        weights = mask.to(x.dtype) / size[:, None].to(x.dtype)
        return torch.matmul(weights, x) if axis == 2 else torch.matmul(x, weights.t())
    fill = torch.tensor(float('-inf'), dtype=x.dtype, device=x.device)
    if axis == 2:  # (N, C, 1, H, W) against (bins, H, 1) -> (N, C, bins, W)
        return torch.where(mask[:, :, None], x[:, :, None], fill).amax(dim=3)
    # (N, C, H, 1, W) against (bins, W) -> (N, C, H, bins)
    return torch.where(mask, x[:, :, :, None], fill).amax(dim=4)


class ExportableAdaptivePool2d(nn.Module):
    """Drop-in for ``nn.AdaptiveAvgPool2d`` / ``nn.AdaptiveMaxPool2d`` at export time.

    Args:
        output_size (int | tuple[int, int]): Bins along height and width.
        pool_type (str): ``'avg'`` or ``'max'``.
    """

    def __init__(self, output_size, pool_type: str = 'avg') -> None:
        super().__init__()
        if pool_type not in ('avg', 'max'):
            raise ValueError(f"pool_type={pool_type!r}, expected 'avg' or 'max'")
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        if any(s is None for s in output_size):
            raise ValueError(f'output_size={output_size}: None (keep the input size) '
                             'is not supported')
        self.output_size = tuple(int(s) for s in output_size)
        self.pool_type = pool_type

    def forward(self, x: Tensor) -> Tensor:
        """Pools (N, C, H, W) to (N, C, *output_size)."""
        x = _pool_axis(x, self.output_size[0], 2, self.pool_type)
        return _pool_axis(x, self.output_size[1], 3, self.pool_type)

    def extra_repr(self) -> str:
        return f'output_size={self.output_size}, pool_type={self.pool_type!r}'


_SWAPPABLE = {nn.AdaptiveAvgPool2d: 'avg', nn.AdaptiveMaxPool2d: 'max'}


@contextmanager
def exportable_adaptive_pooling(model: nn.Module) -> Iterator[int]:
    """Temporarily replaces every adaptive 2-D pooling module of ``model``.

    Args:
        model (nn.Module): The model to patch in place; restored on exit.

    Yields:
        int: The number of replaced modules.
    """
    swapped: List[Tuple[nn.Module, str, nn.Module]] = []
    for parent in model.modules():
        for name, child in parent.named_children():
            pool_type = _SWAPPABLE.get(type(child))
            if pool_type is None:
                continue
            if pool_type == 'max' and child.return_indices:
                raise ValueError(f'{name}: AdaptiveMaxPool2d(return_indices=True) cannot '
                                 'be exported with a dynamic size')
            swapped.append((parent, name, child))
    try:
        for parent, name, child in swapped:
            setattr(parent, name, ExportableAdaptivePool2d(child.output_size,
                                                           _SWAPPABLE[type(child)]))
        yield len(swapped)
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)
