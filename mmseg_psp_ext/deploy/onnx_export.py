"""ONNX export of a segmentor: normalised image in, per-class logits at input size out."""
import logging
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from mmseg_psp_ext.utils.atomic_io import atomic_write
from .adaptive_pooling import exportable_adaptive_pooling

# Smallest input side of a dynamic export: the feature map of an output-stride-8
# backbone must keep at least one pixel per pyramid bin (8 * 6 = 48).
MIN_DYNAMIC_SIDE = 64
MAX_DYNAMIC_SIDE = 8192


class SegmentorLogits(nn.Module):
    """The graph that gets exported: a segmentor's tensor-mode output at input size.

    ``segmentor._forward`` gives the decode head's logits at feature resolution; they
    are resized (bilinear, with the decode head's ``align_corners``) to the input size,
    as ``EncoderDecoder.encode_decode`` does in ``'whole'`` test mode.

    Args:
        segmentor (nn.Module): A built MMSegmentation segmentor.
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        if not hasattr(segmentor, '_forward') or not hasattr(segmentor, 'decode_head'):
            raise TypeError(f'expected an MMSegmentation segmentor (EncoderDecoder), got '
                            f'{type(segmentor).__name__}')
        self.segmentor = segmentor
        self.align_corners = bool(getattr(segmentor, 'align_corners', False))

    def forward(self, inputs: Tensor) -> Tensor:
        """Maps normalised images (N, 3, H, W) to logits (N, num_classes, H, W)."""
        logits = self.segmentor._forward(inputs)
        return F.interpolate(logits, size=inputs.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@contextmanager
def plain_bottleneck(model: nn.Module) -> Iterator[bool]:
    """Turns a decode head's ``fast_bottleneck`` switch off for the duration.

    Yields:
        bool: Whether the model had the fast head on (and it was turned off).
    """
    head = getattr(model, 'decode_head', None)
    if not getattr(head, 'fast_bottleneck', False):
        yield False
        return
    head.fast_bottleneck = False
    try:
        yield True
    finally:
        head.fast_bottleneck = True


def _export(wrapper: nn.Module, example: Tensor, out_file: Path, dynamic: bool,
            opset: int, verbose: Optional[bool]) -> None:
    batch = torch.export.Dim('batch', min=1, max=1024)
    shapes = {0: batch}
    if dynamic:
        shapes[2] = torch.export.Dim('height', min=MIN_DYNAMIC_SIDE, max=MAX_DYNAMIC_SIDE)
        shapes[3] = torch.export.Dim('width', min=MIN_DYNAMIC_SIDE, max=MAX_DYNAMIC_SIDE)
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper, (example, ),
            dynamo=True,
            opset_version=opset,
            input_names=['input'],
            output_names=['logits'],
            dynamic_shapes=(shapes, ),
            verbose=verbose)
    proto = program.model_proto.SerializeToString()
    atomic_write(str(out_file), lambda f: f.write(proto))


def export_onnx(model: nn.Module,
                out_file: Union[str, Path],
                size: Optional[Tuple[int, int]] = (512, 512),
                dynamic: bool = False,
                opset: int = 18,
                verbose: Optional[bool] = False) -> Path:
    """Exports a segmentor to ONNX with torch's default (dynamo) exporter.

    The graph maps a float32 input ``input`` of shape (N, 3, H, W), already normalised
    (what the data preprocessor outputs), to float32 ``logits`` of shape
    (N, num_classes, H, W). The batch size is always dynamic; height and width are
    fixed to ``size`` unless ``dynamic`` is set. For a dynamic export the adaptive
    pooling modules are swapped, for the export only, for an exact formulation whose
    bins follow the runtime size (see :mod:`.adaptive_pooling`). A decode head whose
    fast bottleneck cannot be exported falls back to its plain computation, with a
    warning.

    Args:
        model (nn.Module): A built segmentor (``EncoderDecoder``,
            ``PSPEncoderDecoder``); it is put in eval mode for the export.
        out_file (str | Path): The ``.onnx`` file to write (weights embedded).
        size (tuple[int, int] | None): (H, W) of the exported input; also the size of
            the example traced for a dynamic export (default 512x512 there when None).
        dynamic (bool): Export with dynamic height and width.
        opset (int): ONNX opset, at least 18.
        verbose (bool, optional): False is silent; None prints the exporter's steps.

    Returns:
        Path: ``out_file``.
    """
    if opset < 18:
        raise ValueError(f'opset={opset}: the dynamo exporter needs opset 18 or later')
    if size is None:
        if not dynamic:
            raise ValueError('size=None needs dynamic=True')
        size = (512, 512)
    height, width = (int(s) for s in size)
    if dynamic and min(height, width) < MIN_DYNAMIC_SIDE:
        raise ValueError(f'size={size}: a dynamic export traces at least '
                         f'{MIN_DYNAMIC_SIDE}x{MIN_DYNAMIC_SIDE}')
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    wrapper = SegmentorLogits(model)
    param = next(model.parameters())
    # Batch 2: torch.export specialises a size-1 dimension, so a batch of 1 would fix it.
    example = torch.zeros(2, 3, height, width, dtype=torch.float32, device=param.device)
    pooling = exportable_adaptive_pooling(model) if dynamic else nullcontext()
    with _eval_mode(model), pooling:
        wrapper.eval()
        try:
            _export(wrapper, example, out_file, dynamic, opset, verbose)
        except Exception as err:  # noqa: BLE001 -- retried once with the plain head
            with plain_bottleneck(model) as switched:
                if not switched:
                    raise
                print_log(f'The fast pyramid head did not export ({type(err).__name__}: '
                          f'{err}); exporting the plain head (same weights, same '
                          'results) instead.', logger='current', level=logging.WARNING)
                _export(wrapper, example, out_file, dynamic, opset, verbose)
    return out_file
