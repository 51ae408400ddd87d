"""MATLAB's ``imresize(A, ..., 'bilinear')`` in torch, value for value.

The PSPNet authors' evaluation scripts resize with MATLAB's ``imresize``. It differs from
``F.interpolate(..., mode='bilinear')`` in three ways that change the numbers:

- when it shrinks it antialiases (MATLAB's default): the triangle kernel is widened by
  ``1 / scale`` and scaled by ``scale``, so every input pixel under it contributes;
- out-of-range taps are mirrored (``aux = [1:in, in:-1:1]``), not clamped;
- it resizes one dimension at a time, the one with the smaller scale factor first, and a
  uint8 image comes back as uint8 after *each* dimension (rounded half away from zero).

The algorithm follows the documented ``contributions`` step of MATLAB's ``imresize.m``
(Image Processing Toolbox): for output pixel ``x`` (1-based) the input coordinate is
``u = x / scale + 0.5 * (1 - 1 / scale)``, the taps are ``floor(u - width / 2) + (0..P-1)``
with ``P = ceil(width) + 2``, the weights ``h(u - tap)`` are normalised to sum 1 per
output pixel and all-zero tap columns are dropped. Each dimension is then an
(out, in) resize matrix with at most ``P`` non-zeros per row, applied as a sparse
matrix product along that dimension.
"""
import warnings
from functools import lru_cache
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

KERNEL_WIDTH = 2.0  # the triangle ('bilinear') kernel is non-zero on (-1, 1)


def matlab_round(value: Union[np.ndarray, float]) -> np.ndarray:
    """MATLAB's ``round``: halves away from zero (numpy's ``round`` goes to even).

    ``x - trunc(x)`` is exact in floating point, so the comparison with 0.5 is too
    (``floor(x + 0.5)`` is not: it rounds 0.49999999999999994 up).
    """
    value = np.asarray(value)
    whole = np.trunc(value)
    frac = value - whole
    return whole + (frac >= 0.5) - (frac <= -0.5)


def round_half_away(value: Tensor) -> Tensor:
    """:func:`matlab_round` for tensors (MATLAB's cast of a double to an integer class)."""
    whole = value.trunc()
    frac = value - whole
    return whole + (frac >= 0.5).to(value.dtype) - (frac <= -0.5).to(value.dtype)


def _triangle(x: np.ndarray) -> np.ndarray:
    """MATLAB's bilinear kernel, written as ``imresize.m`` writes it."""
    return (x + 1) * ((-1 <= x) & (x < 0)) + (1 - x) * ((0 <= x) & (x <= 1))


@lru_cache(maxsize=256)
def contributions(in_length: int, out_length: int, scale: float,
                  antialias: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based input indices of every output pixel along one dimension.

    Args:
        in_length (int): Input length.
        out_length (int): Output length.
        scale (float): Scale factor (``out / in`` when a size was asked for).
        antialias (bool): Widen the kernel when shrinking (MATLAB's default).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``weights`` (out_length, taps) float64, each row
        summing to 1, and ``indices`` (out_length, taps) int64, both read-only.
    """
    width = KERNEL_WIDTH
    shrink_aa = scale < 1 and antialias
    if shrink_aa:
        width = width / scale
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)
    distance = u[:, None] - indices
    weights = scale * _triangle(scale * distance) if shrink_aa else _triangle(distance)
    total = weights[:, 0].copy()
    for k in range(1, taps):  # left to right, as MATLAB's sum over a short row
        total += weights[:, k]
    weights = weights / total[:, None]
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    weights, indices = weights[:, keep], indices[:, keep]
    weights.setflags(write=False)
    indices.setflags(write=False)
    return weights, indices


def output_size_and_scale(in_size: Sequence[int], size: Optional[Sequence[float]] = None,
                          scale: Optional[float] = None
                          ) -> Tuple[Tuple[int, int], Tuple[float, float]]:
    """Output size and per-dimension scale as ``imresize`` derives them.

    ``imresize(A, [rows cols])``: size rounded up, scale ``size / in`` per dimension
    (of the rounded size);
    ``imresize(A, s)``: size ``ceil(s * in)``, scale ``s`` in both dimensions.
    """
    if (size is None) == (scale is None):
        raise ValueError('imresize: give exactly one of size and scale, '
                         f'got size={size!r}, scale={scale!r}')
    if size is not None:
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f'imresize: size must be two positive numbers, got {size!r}')
        out = (int(np.ceil(size[0])), int(np.ceil(size[1])))
        scales = (out[0] / in_size[0], out[1] / in_size[1])
    else:
        if scale <= 0:
            raise ValueError(f'imresize: scale must be positive, got {scale!r}')
        scales = (float(scale), float(scale))
        out = (int(np.ceil(scale * in_size[0])), int(np.ceil(scale * in_size[1])))
    return out, scales


def _resize_matrix(weights: np.ndarray, indices: np.ndarray, in_length: int,
                   dtype: torch.dtype, device: torch.device, transpose: bool) -> Tensor:
    """The (out, in) resize matrix of one dimension, or its transpose, sparse (CSR).

    Taps that mirror onto the same pixel are summed into one entry.
    """
    out_length, taps = weights.shape
    rows = np.repeat(np.arange(out_length), taps)
    coords = np.stack([rows, indices.reshape(-1)])
    shape = (out_length, in_length)
    if transpose:
        coords, shape = coords[::-1].copy(), shape[::-1]
    matrix = torch.sparse_coo_tensor(torch.from_numpy(coords),
                                     torch.from_numpy(weights.reshape(-1)),
                                     shape).coalesce().to(dtype)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter('ignore')
        return matrix.to_sparse_csr().to(device)


def _resize_along(image: Tensor, dim: int, weights: np.ndarray,
                  indices: np.ndarray, in_length: int) -> Tensor:
    """Applies the resize matrix along ``dim`` as one sparse matrix product.

    The last dimension multiplies the flattened image by the transposed matrix from the
    right (no copy of the input); another dimension is moved first and multiplied from
    the left.
    """
    last = dim == image.dim() - 1
    matrix = _resize_matrix(weights, indices, in_length, image.dtype, image.device,
                            transpose=last)
    if last:
        flat = image.reshape(-1, in_length)
        return (flat @ matrix).reshape(image.shape[:-1] + (matrix.shape[1], ))
    moved = image.movedim(dim, 0)
    out = matrix @ moved.reshape(in_length, -1)
    return out.reshape((matrix.shape[0], ) + moved.shape[1:]).movedim(0, dim)


def imresize(image: Tensor, size: Optional[Sequence[float]] = None,
             scale: Optional[float] = None, antialias: bool = True) -> Tensor:
    """MATLAB ``imresize(image, size_or_scale, 'bilinear')`` on the last two dimensions.

    Args:
        image (Tensor): (..., H, W). ``torch.uint8`` behaves as MATLAB's uint8: the
            sums are taken in double and rounded (half away from zero) and clipped to
            0..255 after each dimension; floating point stays in its dtype.
        size (tuple[float, float], optional): Output (rows, cols), as
            ``imresize(A, [rows cols])``.
        scale (float, optional): Scale factor, as ``imresize(A, scale)``.
        antialias (bool): MATLAB's ``'Antialiasing'`` (true by default for bilinear).

    Returns:
        Tensor: The resized image, same dtype as ``image``.
    """
    if image.dim() < 2:
        raise ValueError(f'imresize: expected (..., H, W), got shape {tuple(image.shape)}')
    in_size = tuple(image.shape[-2:])
    out_size, scales = output_size_and_scale(in_size, size, scale)
    is_uint8 = image.dtype == torch.uint8
    if not (is_uint8 or image.is_floating_point()):
        raise TypeError(f'imresize: uint8 or floating point image expected, got {image.dtype}')
    work = image.double() if is_uint8 else image
    # MATLAB: [~, order] = sort(scale), a stable sort, so rows first on ties
    for axis in sorted(range(2), key=lambda a: scales[a]):
        if scales[axis] == 1 and out_size[axis] == in_size[axis]:
            continue  # MATLAB's pure nearest-neighbour case: the identity
        weights, indices = contributions(in_size[axis], out_size[axis], scales[axis],
                                         bool(antialias))
        work = _resize_along(work, work.dim() - 2 + axis, weights, indices, in_size[axis])
        if is_uint8:  # the sums are >= 0 (weights >= 0): half away = floor + (frac >= .5)
            whole = work.floor()
            work = whole.add_((work - whole).ge_(0.5)).clamp_(0, 255)
    return work.to(torch.uint8) if is_uint8 else work.contiguous()
