"""The authors' Caffe PSPNet models (hszhao/PSPNet) -> MMSegmentation's PSPNet layout.

The ``.caffemodel`` is parsed with protobuf from a minimal copy of the fork's schema
(``caffe.proto``, generated ``caffe_pb2.py``); Caffe itself is not needed. Layers are
matched by name, so the fork's types (``BNData``, ``ConvolutionData``,
``HoleConvolutionData``) and the plain ones (``BN``, ``Convolution``) read alike:

================================  ============================================
Caffe layer                       MMSegmentation
================================  ============================================
``conv1_1_3x3_s2`` (``/bn``)      ``backbone.stem.0`` (``.1``)
``conv1_2_3x3`` (``/bn``)         ``backbone.stem.3`` (``.4``)
``conv1_3_3x3`` (``/bn``)         ``backbone.stem.6`` (``.7``)
``conv{S}_{B}_1x1_reduce``        ``backbone.layer{S-1}.{B-1}.conv1`` (``bn1``)
``conv{S}_{B}_3x3``               ``backbone.layer{S-1}.{B-1}.conv2`` (``bn2``)
``conv{S}_{B}_1x1_increase``      ``backbone.layer{S-1}.{B-1}.conv3`` (``bn3``)
``conv{S}_1_1x1_proj``            ``backbone.layer{S-1}.0.downsample.0`` (``.1``)
``conv5_3_pool{k}_conv``          ``decode_head.psp_modules.{i}.1.conv`` (``.bn``)
``conv5_4`` (``/bn``)             ``decode_head.bottleneck.conv`` (``.bn``)
``conv6``                         ``decode_head.conv_seg``
================================  ============================================

BN layers hold four blobs: scale, shift, running mean, running variance; the stored
``bn_param.eps`` (1e-5 unless set), the convolutions' dilation and the ``Interp`` sizes are
read too. The fork's ``caffe.proto`` changed its field numbers between its first commit
(88d0b3e) and HEAD (c479f4f); both are read, see :func:`read_caffemodel`.
``conv5_4`` reads the concatenation ``[conv5_3, pool6, pool3, pool2, pool1]``, the
reverse of MMSegmentation's ``[x, bin1, bin2, bin3, bin6]``: its input channels are
permuted. Deploy models have no auxiliary head.
"""
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .common import StateDict

_STEM = {'conv1_1_3x3_s2': 0, 'conv1_2_3x3': 3, 'conv1_3_3x3': 6}
_BLOCK = re.compile(r'^conv([2-5])_(\d+)_(1x1_reduce|3x3|1x1_increase|1x1_proj)(/bn)?$')
_BLOCK_PARTS = {'1x1_reduce': ('conv1', 'bn1'), '3x3': ('conv2', 'bn2'),
                '1x1_increase': ('conv3', 'bn3'), '1x1_proj': ('downsample.0', 'downsample.1')}
_PPM = re.compile(r'^conv5_3_pool(\d+)_conv(/bn)?$')
_DEPTH_BY_STAGE4_BLOCKS = {6: 50, 23: 101, 36: 152}

# The published models and the stride placement of each (PSPNET_FACTS section 2).
KNOWN_MODELS = {
    'pspnet50_ADE20K': dict(style='caffe', num_classes=150, depth=50),
    'pspnet101_VOC2012': dict(style='pytorch', num_classes=21, depth=101),
    'pspnet101_cityscapes': dict(style='pytorch', num_classes=19, depth=101),
}


# The two numberings of the fork's caffe.proto (see caffe.proto / caffe_88d0b3e.proto).
SCHEMA_HEAD, SCHEMA_FIRST = 'c479f4f', '88d0b3e'
SCHEMAS = (SCHEMA_HEAD, SCHEMA_FIRST)
# Field numbers that only 88d0b3e declares where the converter looks: LayerParameter
# bn_param 137 and interp_param 163, ConvolutionParameter hole 17 / hole_w 19, V1
# interp_param 43 and the fork's V1 layer types (HOLE_CONVOLUTION...; an unknown enum value
# of V1 `type`, field 5, is kept as an unknown field). Parsed with HEAD's schema, a file of
# the first commit shows them as unknown fields.
_FIRST_ONLY_LAYER, _FIRST_ONLY_CONV, _FIRST_ONLY_V1 = {137, 163}, {17, 19}, {5, 43}


@dataclass
class CaffeLayer:
    """One layer of a ``.caffemodel`` that holds weights.

    Attributes:
        name (str): Layer name, e.g. ``conv3_1_1x1_reduce/bn``.
        type (str): Layer type as stored (``BNData``, ``ConvolutionData``...).
        blobs (list[np.ndarray]): The blobs, shaped.
        stride (int | None): ``convolution_param.stride`` when the file stores it.
        eps (float | None): ``bn_param.eps`` when the file stores a ``bn_param``.
        dilation (int | None): The convolution's dilation (``dilation`` at HEAD,
            ``hole_h``/``hole`` in 88d0b3e) when the file stores it.
    """
    name: str
    type: str
    blobs: List[np.ndarray] = field(default_factory=list)
    stride: Optional[int] = None
    eps: Optional[float] = None
    dilation: Optional[int] = None


class CaffeNet(list):
    """The weight layers of a ``.caffemodel`` (a list of :class:`CaffeLayer`) and more.

    Attributes:
        schema (str): The numbering it was read with, ``'c479f4f'`` (the fork's HEAD) or
            ``'88d0b3e'`` (its first commit).
        interps (dict[str, dict]): ``interp_param`` of each layer that has one, by layer
            name (``height``, ``width``, ``zoom_factor``, ``shrink_factor``, ``pad_beg``,
            ``pad_end``).
    """

    def __init__(self, layers=(), schema: str = SCHEMA_HEAD,
                 interps: Optional[Dict[str, Dict[str, int]]] = None):
        super().__init__(layers)
        self.schema = schema
        self.interps = interps or {}


def _blob_to_array(blob, where: str) -> np.ndarray:
    if blob.HasField('shape'):
        shape = tuple(int(d) for d in blob.shape.dim)
    else:  # legacy 4-D fields
        shape = (blob.num, blob.channels, blob.height, blob.width)
    data = np.asarray(blob.data if len(blob.data) else blob.double_data, dtype=np.float32)
    if data.size != int(np.prod(shape)):
        raise ValueError(f'{where}: blob shape {shape} holds {int(np.prod(shape))} values, '
                         f'the file has {data.size}')
    return data.reshape(shape)


def _unknown_numbers(message) -> set:
    from google.protobuf import unknown_fields
    return {f.field_number for f in unknown_fields.UnknownFieldSet(message)}


def _schema_evidence(net) -> Tuple[int, int]:
    """Counts layers that only HEAD's and only 88d0b3e's numbering explain.

    Args:
        net: A ``NetParameter`` parsed with HEAD's schema (``caffe_pb2``).

    Returns:
        tuple[int, int]: (HEAD evidence, 88d0b3e evidence).
    """
    head = first = 0
    for layer in net.layer:
        if layer.HasField('bn_param') or layer.HasField('interp_param'):
            head += 1
        if (_unknown_numbers(layer) & _FIRST_ONLY_LAYER or
                (layer.HasField('convolution_param') and
                 _unknown_numbers(layer.convolution_param) & _FIRST_ONLY_CONV)):
            first += 1
    for layer in net.layers:
        if _unknown_numbers(layer) & _FIRST_ONLY_V1 or (
                layer.HasField('convolution_param') and
                _unknown_numbers(layer.convolution_param) & _FIRST_ONLY_CONV):
            first += 1
    return head, first


def _parse(pb2, data: bytes, path: str):
    net = pb2.NetParameter()
    try:
        net.ParseFromString(data)
    except Exception as err:
        raise ValueError(f'{path}: not a Caffe NetParameter ({err})') from err
    return net


def _conv_stride_dilation(conv, schema: str) -> Tuple[int, Optional[int]]:
    if schema == SCHEMA_HEAD:  # repeated fields: one value for both axes, or (h, w)
        stride = conv.stride_h if conv.HasField('stride_h') else (
            conv.stride[0] if len(conv.stride) else 1)
        dilation = conv.dilation[0] if len(conv.dilation) else None
    else:
        stride = conv.stride_h if conv.HasField('stride_h') else conv.stride
        dilation = (conv.hole_h if conv.HasField('hole_h') else
                    conv.hole if conv.HasField('hole') else None)
    return stride, dilation


def read_caffemodel(path: str, schema: str = 'auto') -> CaffeNet:
    """Reads the layers that hold blobs from a ``.caffemodel`` (``layer`` or V1 ``layers``).

    Args:
        path (str): The binary ``.caffemodel`` file.
        schema (str): ``'auto'`` (default) reads with the fork's HEAD numbering
            (``'c479f4f'``) unless the file stores fields that only its first commit's
            numbering (``'88d0b3e'``) explains; either name forces that schema.

    Returns:
        CaffeNet: The weight layers in file order, with the schema used and the
        ``interp_param`` of the layers that have one.

    Raises:
        ValueError: When the file is no ``NetParameter``, has no weights, or (``'auto'``)
            stores fields of both numberings.
    """
    from . import caffe_88d0b3e_pb2, caffe_pb2
    if schema not in ('auto',) + SCHEMAS:
        raise ValueError(f'schema={schema!r}: expected auto, {" or ".join(SCHEMAS)}')
    with open(path, 'rb') as f:
        data = f.read()
    net = _parse(caffe_pb2, data, path)
    head, first = _schema_evidence(net)
    if schema == 'auto':
        if head and first:
            raise ValueError(
                f'{path}: {head} layers store fields numbered as in the fork\'s HEAD '
                f'caffe.proto ({SCHEMA_HEAD}) and {first} as in its first commit '
                f'({SCHEMA_FIRST}); pass the schema explicitly (--schema)')
        schema = SCHEMA_FIRST if first else SCHEMA_HEAD
    elif (schema == SCHEMA_HEAD and first) or (schema == SCHEMA_FIRST and head):
        other = SCHEMA_FIRST if schema == SCHEMA_HEAD else SCHEMA_HEAD
        warnings.warn(f'{path}: read with schema {schema}, but {max(head, first)} layers '
                      f'store fields that only {other} declares; they are ignored')
    pb2 = caffe_pb2 if schema == SCHEMA_HEAD else caffe_88d0b3e_pb2
    if pb2 is not caffe_pb2:
        net = _parse(pb2, data, path)
    layers, interps = CaffeNet(schema=schema), {}
    for layer in list(net.layer) + list(net.layers):
        if layer.HasField('interp_param'):
            p = layer.interp_param
            interps[layer.name] = dict(
                height=p.height, width=p.width, zoom_factor=p.zoom_factor,
                shrink_factor=p.shrink_factor, pad_beg=p.pad_beg, pad_end=p.pad_end)
        if not len(layer.blobs):
            continue
        layer_type = (layer.type if isinstance(layer.type, str) else
                      pb2.V1LayerParameter.LayerType.Name(layer.type))
        stride = eps = dilation = None
        if layer.HasField('convolution_param'):
            stride, dilation = _conv_stride_dilation(layer.convolution_param, schema)
        if hasattr(layer, 'bn_param') and layer.HasField('bn_param'):
            eps = layer.bn_param.eps
        layers.append(CaffeLayer(
            name=layer.name, type=layer_type, stride=stride, eps=eps, dilation=dilation,
            blobs=[_blob_to_array(b, f'{path}: layer {layer.name}') for b in layer.blobs]))
    if not layers:
        raise ValueError(f'{path}: no layer with weights (a deploy .prototxt instead of the '
                         '.caffemodel?)')
    layers.interps = interps
    return layers


def _target_name(name: str, ppm_bins: Sequence[int]) -> Optional[Tuple[str, str]]:
    """Returns (MMSegmentation module prefix, 'conv' | 'bn') for a Caffe layer name."""
    is_bn = name.endswith('/bn')
    base = name[:-3] if is_bn else name
    if base in _STEM:
        idx = _STEM[base]
        return f'backbone.stem.{idx + 1 if is_bn else idx}', 'bn' if is_bn else 'conv'
    m = _BLOCK.match(name)
    if m:
        stage, block, part, _ = m.groups()
        conv_name, bn_name = _BLOCK_PARTS[part]
        return (f'backbone.layer{int(stage) - 1}.{int(block) - 1}.'
                f'{bn_name if is_bn else conv_name}', 'bn' if is_bn else 'conv')
    m = _PPM.match(name)
    if m:
        idx = sorted(ppm_bins).index(int(m.group(1)))
        return f'decode_head.psp_modules.{idx}.1.{"bn" if is_bn else "conv"}', \
            'bn' if is_bn else 'conv'
    if base == 'conv5_4':
        return f'decode_head.bottleneck.{"bn" if is_bn else "conv"}', 'bn' if is_bn else 'conv'
    if name == 'conv6':
        return 'decode_head.conv_seg', 'cls'
    return None


def detect_style(layers: Sequence[CaffeLayer]) -> Optional[str]:
    """Where the stage-3 stride sits, read off the stored convolution parameters.

    Returns:
        str | None: ``'caffe'`` (in ``conv3_1_1x1_reduce``), ``'pytorch'`` (in
        ``conv3_1_3x3``) or None when the file stores no strides.
    """
    by_name = {layer.name: layer for layer in layers}
    reduce, conv3x3 = by_name.get('conv3_1_1x1_reduce'), by_name.get('conv3_1_3x3')
    if reduce is not None and (reduce.stride or 1) > 1:
        return 'caffe'
    if conv3x3 is not None and (conv3x3.stride or 1) > 1:
        return 'pytorch'
    return None


def detect_dilations(layers: Sequence[CaffeLayer]) -> Tuple[Optional[Tuple[int, ...]], bool]:
    """The dilation of each stage's 3x3 convolutions, read off the stored parameters.

    Returns:
        tuple: (dilations of stages 2-5 as ``DilatedResNet(dilations=...)`` takes them, or
        None when the file stores no dilation; whether a stage's first block uses a smaller
        dilation than the others, i.e. ``contract_dilation``).
    """
    by_stage: Dict[int, Dict[int, int]] = {}
    for layer in layers:
        m = _BLOCK.match(layer.name)
        if m and m.group(3) == '3x3' and not m.group(4) and layer.dilation is not None:
            by_stage.setdefault(int(m.group(1)), {})[int(m.group(2))] = layer.dilation
    if not by_stage:
        return None, False
    dilations = tuple(max(by_stage.get(s, {0: 1}).values()) for s in range(2, 6))
    contract = any(blocks.get(1, d) < d for blocks, d in
                   ((by_stage.get(s, {}), dilations[s - 2]) for s in range(2, 6)))
    return dilations, contract


def interp_crop_size(interps: Dict[str, Dict[str, int]]) -> Optional[int]:
    """The input size the deploy net was built for, from its pyramid ``Interp`` layers.

    The pyramid levels are resized to the 1/8 feature map (``height``, 60 at 473); the
    final ``Interp`` enlarges it with ``zoom_factor`` 8 the way Caffe does,
    ``(size - 1) * zoom + 1``: 473 from 60, 713 from 90.

    Returns:
        int | None: The crop size, or None when the file stores no such layers.
    """
    sizes = {p['height'] for name, p in interps.items()
             if name.startswith('conv5_3_pool') and p['height'] > 0}
    zooms = {p['zoom_factor'] for p in interps.values() if p['zoom_factor'] > 1}
    if len(sizes) != 1:
        return None
    zoom = zooms.pop() if len(zooms) == 1 else 8
    return (sizes.pop() - 1) * zoom + 1


def convert_caffe_layers(layers: Sequence[CaffeLayer]) -> Tuple[StateDict, Dict[str, object]]:
    """Maps Caffe PSPNet layers onto MMSegmentation's PSPNet state-dict keys.

    Args:
        layers (Sequence[CaffeLayer]): From :func:`read_caffemodel`.

    Returns:
        tuple[OrderedDict, dict]: The state dict, and what was read off the file:
        ``depth``, ``num_classes``, ``pool_scales``, ``style`` (None if not stored),
        ``bn_eps`` (set of stored BN eps values), ``dilations`` and
        ``contract_dilation`` (:func:`detect_dilations`), ``crop_size`` (from the
        ``Interp`` layers, :func:`interp_crop_size`) and ``caffe_schema`` when ``layers``
        is a :class:`CaffeNet`.

    Raises:
        ValueError: Naming unknown layers, BN layers without 4 blobs, convs with an
            unexpected bias, or a missing PPM level.
    """
    ppm_bins = sorted({int(m.group(1)) for layer in layers for m in [_PPM.match(layer.name)]
                       if m})
    if not ppm_bins:
        raise ValueError('no conv5_3_pool{k}_conv layers: not a PSPNet caffemodel')
    state_dict: StateDict = OrderedDict()
    unknown, bad = [], []
    bn_eps = set()
    for layer in layers:
        target = _target_name(layer.name, ppm_bins)
        if target is None:
            unknown.append(f'{layer.name} ({layer.type})')
            continue
        prefix, kind = target
        blobs = [torch.from_numpy(np.array(b, dtype=np.float32, copy=True)) for b in layer.blobs]
        if kind == 'bn':
            if len(blobs) != 4:
                bad.append(f'{layer.name}: {len(blobs)} blobs, a BN layer needs 4 (scale, '
                           'shift, running mean, running variance)')
                continue
            for key, blob in zip(('weight', 'bias', 'running_mean', 'running_var'), blobs):
                state_dict[f'{prefix}.{key}'] = blob.reshape(-1)
            state_dict[f'{prefix}.num_batches_tracked'] = torch.tensor(0)
            if layer.eps is not None:
                # float32 in the file: 1e-3, not 0.0010000000475
                bn_eps.add(float(f'{layer.eps:.7g}'))
        else:
            if blobs[0].dim() != 4:
                bad.append(f'{layer.name}: weight of shape {tuple(blobs[0].shape)}, expected '
                           'a 4-D convolution kernel')
                continue
            if len(blobs) > 2 or (kind == 'conv' and len(blobs) == 2):
                bad.append(f'{layer.name}: {len(blobs)} blobs; only the classifier conv6 '
                           'has a bias in PSPNet')
                continue
            state_dict[f'{prefix}.weight'] = blobs[0]
            if kind == 'cls':
                if len(blobs) != 2:
                    bad.append('conv6: the classifier needs a bias blob')
                    continue
                state_dict[f'{prefix}.bias'] = blobs[1].reshape(-1)
    if unknown:
        raise ValueError(f'{len(unknown)} Caffe layers with weights belong to no PSPNet '
                         f'module: {", ".join(unknown[:12])}{" ..." if len(unknown) > 12 else ""}')
    if bad:
        raise ValueError('unexpected Caffe blobs:\n  ' + '\n  '.join(bad))
    _permute_bottleneck_inputs(state_dict, ppm_bins)
    stage4 = {int(m.group(2)) for k in (layer.name for layer in layers)
              for m in [_BLOCK.match(k)] if m and m.group(1) == '4'}
    num_blocks = max(stage4) if stage4 else 0
    if num_blocks not in _DEPTH_BY_STAGE4_BLOCKS:
        raise ValueError(f'{num_blocks} blocks named conv4_*: PSPNet has '
                         f'{sorted(_DEPTH_BY_STAGE4_BLOCKS)} (depth 50/101/152)')
    if 'decode_head.conv_seg.weight' not in state_dict:
        raise ValueError('no classifier layer conv6')
    info = dict(depth=_DEPTH_BY_STAGE4_BLOCKS[num_blocks],
                num_classes=int(state_dict['decode_head.conv_seg.weight'].shape[0]),
                pool_scales=tuple(ppm_bins), style=detect_style(layers), bn_eps=bn_eps)
    info['dilations'], info['contract_dilation'] = detect_dilations(layers)
    info['crop_size'] = interp_crop_size(getattr(layers, 'interps', {}))
    if isinstance(layers, CaffeNet):
        info['caffe_schema'] = layers.schema
    return state_dict, info


def _permute_bottleneck_inputs(state_dict: StateDict, ppm_bins: Sequence[int]) -> None:
    """Reorders conv5_4's input channels from Caffe's concat order to MMSegmentation's.

    Caffe concatenates ``[x, pool_{largest bin}, ..., pool_1]``; MMSegmentation
    ``[x, bin_{smallest}, ..., bin_{largest}]``.
    """
    key = 'decode_head.bottleneck.conv.weight'
    if key not in state_dict:
        raise ValueError('no conv5_4 layer (the PPM fusion conv)')
    weight = state_dict[key]
    level = state_dict['decode_head.psp_modules.0.1.conv.weight']
    reduced, in_channels = level.shape[0], level.shape[1]
    expected = in_channels + len(ppm_bins) * reduced
    if weight.shape[1] != expected:
        raise ValueError(f'conv5_4 has {weight.shape[1]} input channels; the PPM gives '
                         f'{in_channels} + {len(ppm_bins)} x {reduced} = {expected}')
    caffe_order = sorted(ppm_bins, reverse=True)

    def level_slice(bin_size: int) -> torch.Tensor:
        start = in_channels + caffe_order.index(bin_size) * reduced
        return weight[:, start:start + reduced]

    state_dict[key] = torch.cat(
        [weight[:, :in_channels]] + [level_slice(b) for b in sorted(ppm_bins)], dim=1).contiguous()
