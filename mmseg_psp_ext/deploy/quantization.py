"""Post-training static INT8 quantization of an exported graph (NNCF or ONNX Runtime).

Two libraries, one interface: :func:`quantize` takes the fp32 ONNX file written by
:func:`~.onnx_export.export_onnx`, normalised calibration inputs and the layers to keep
in float, and writes an INT8 model the backends of :mod:`.backends` run as they run the
fp32 graph:

- ``'openvino'``: NNCF's ``nncf.quantize`` on the OpenVINO model, saved as ``.xml`` and
  ``.bin`` (FakeQuantize operations, which the CPU plugin runs with int8 kernels);
- ``'onnxruntime'``: ONNX Runtime's ``quantize_static``, QDQ format, per-channel int8
  weights and uint8 activations (ONNX Runtime's recommended x86 layout), saved as ``.onnx``.

A weight the graph splits (the fast pyramid head's bottleneck) is folded into constant
parts first (:func:`fold_weight_splits`), so that its convolution is quantized too.
Layers are named by the module of their weight (``segmentor.backbone.layer4.0.conv1``),
which the exporter keeps as the initializer name; :func:`conv_layers` maps them to graph
nodes so that a float scope given as module prefixes works for both libraries.
"""
import logging
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

QUANT_BACKENDS = ('openvino', 'onnxruntime')
# Ops left in float by default (see docs/quantization.md): the fast pyramid head's
# MatMuls (the pooled branches upsampled as matrix products) trip the OpenVINO CPU
# plugin's per-channel scale check and carry a negligible share of the work.
DEFAULT_FLOAT_TYPES = ('MatMul', )
# Layers left in float by default: the classifier (a 1x1 convolution, well under 1% of the
# work) decides the labels; quantizing it cost the demo model 1.25 mIoU with NNCF.
DEFAULT_FLOAT_LAYERS = ('decode_head.conv_seg', )
_WEIGHT_VIEWS = ('Split', 'Slice', 'Reshape', 'Identity', 'Transpose', 'Cast')


class MissingDependencyError(ImportError):
    """An optional quantization library that is not installed."""


def require(module: str, package: str):
    """Imports ``module``; a clear error naming the extra to install if it is missing."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f'{package} is needed for INT8 quantization but cannot be imported ({err}); '
            "install the deploy extra: pip install -e '.[deploy]' (or pip install "
            f'{package})') from err


def conv_layers(onnx_file: str) -> Dict[str, List[str]]:
    """The weighted layers (Conv, Gemm, MatMul with a constant) of an exported graph.

    A weight reached through ``Split``/``Slice``/``Reshape`` of an initializer (the fast
    pyramid head splits its bottleneck kernel) counts as that initializer's.

    Args:
        onnx_file (str): An ONNX file from :func:`~.onnx_export.export_onnx`.

    Returns:
        dict[str, list[str]]: Module name (the weight's name less ``.weight``) -> the
        names of the graph nodes that use it, in graph order.
    """
    import onnx
    model = onnx.load(onnx_file, load_external_data=False)
    weights = {init.name for init in model.graph.initializer}
    producers = {out: node for node in model.graph.node for out in node.output}
    layers: Dict[str, List[str]] = {}
    for node in model.graph.node:
        if node.op_type not in ('Conv', 'Gemm', 'MatMul') or len(node.input) < 2:
            continue
        name = node.input[1]
        while name not in weights and name in producers and \
                producers[name].op_type in _WEIGHT_VIEWS:
            name = producers[name].input[0]
        if name in weights:
            module = name.split('.weight')[0] if '.weight' in name else name
            layers.setdefault(module, []).append(node.name)
    return layers


def layer_groups(layers: Dict[str, List[str]]) -> List[str]:
    """Module prefixes two levels deep (``backbone.layer4``), from the output back.

    The order in which ``tools/quantize.py --max-drop`` keeps groups in float.
    """
    groups: List[str] = []
    for module in layers:
        parts = module.split('.')
        if parts[0] == 'segmentor':
            parts = parts[1:]
        group = '.'.join(parts[:2])
        if group not in groups:
            groups.append(group)
    return groups[::-1]


def fold_weight_splits(onnx_file: str, out_file: str) -> int:
    """Writes ``onnx_file`` with every ``Split`` of a weight replaced by its parts.

    The fast pyramid head splits its bottleneck kernel into the part that sees the
    backbone features and the parts that see the pooled branches. Neither NNCF nor ONNX
    Runtime sees a weight behind a ``Split``, so that convolution, the largest of the
    model, would stay in float. The parts become initializers named
    ``<weight>.part<i>`` (so :func:`conv_layers` still names their module).

    Args:
        onnx_file (str): The exported fp32 graph.
        out_file (str): Where to write the folded graph (may be ``onnx_file``).

    Returns:
        int: The number of ``Split`` nodes folded.
    """
    import onnx
    from onnx import numpy_helper
    model = onnx.load(onnx_file)
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    renamed, folded = {}, []
    for node in graph.node:
        if node.op_type != 'Split' or node.input[0] not in inits:
            continue
        if len(node.input) > 1 and node.input[1] and node.input[1] not in inits:
            continue
        weight = numpy_helper.to_array(inits[node.input[0]])
        axis = next((a.i for a in node.attribute if a.name == 'axis'), 0)
        if len(node.input) > 1 and node.input[1]:
            sizes = numpy_helper.to_array(inits[node.input[1]]).tolist()
        else:
            sizes = [weight.shape[axis] // len(node.output)] * len(node.output)
        parts = np.split(weight, np.cumsum(sizes)[:-1], axis=axis)
        for index, (output, part) in enumerate(zip(node.output, parts)):
            name = f'{node.input[0]}.part{index}'
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(part), name))
            renamed[output] = name
        folded.append(node)
    for node in folded:
        graph.node.remove(node)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renamed:
                node.input[i] = renamed[name]
    for output in graph.output:
        if output.name in renamed:
            raise ValueError(f'{onnx_file}: a graph output is a split weight')
    used = {name for node in graph.node for name in node.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)  # the whole kernel and the split sizes
    onnx.save(model, out_file)
    return len(folded)


def nodes_in_scope(layers: Dict[str, List[str]], prefixes: Sequence[str]) -> List[str]:
    """Graph nodes of the layers whose module name starts with one of ``prefixes``."""
    nodes = []
    for module, names in layers.items():
        short = module[len('segmentor.'):] if module.startswith('segmentor.') else module
        if any(short == p or short.startswith(p.rstrip('.') + '.') or module.startswith(p)
               for p in prefixes):
            nodes.extend(names)
    return nodes


def _quantize_openvino(onnx_file: str, inputs: Iterable[np.ndarray], count: int,
                       out_xml: str, float_nodes: List[str],
                       float_types: Sequence[str], preset: str) -> None:
    nncf = require('nncf', 'nncf')
    import openvino as ov
    logging.getLogger('nncf').setLevel(logging.WARNING)
    model = ov.Core().read_model(onnx_file)
    # OpenVINO names a Conv with a bias NAME/WithoutBiases (the bias becomes an Add).
    ignored = nncf.IgnoredScope(patterns=[re.escape(n) + '(/WithoutBiases)?'
                                          for n in float_nodes],
                                types=list(float_types), validate=False)
    quantized = nncf.quantize(
        model, nncf.Dataset(inputs), subset_size=count, ignored_scope=ignored,
        preset=nncf.QuantizationPreset.MIXED if preset == 'mixed' else
        nncf.QuantizationPreset.PERFORMANCE,
        fast_bias_correction=True)
    ov.save_model(quantized, out_xml, compress_to_fp16=False)


class _Reader:
    """ONNX Runtime's ``CalibrationDataReader`` protocol over normalised inputs."""

    def __init__(self, inputs: Iterable[np.ndarray], input_name: str) -> None:
        self.iterator = iter(inputs)
        self.input_name = input_name

    def get_next(self) -> Optional[dict]:
        batch = next(self.iterator, None)
        return None if batch is None else {self.input_name: batch}


def _quantize_onnxruntime(onnx_file: str, inputs: Iterable[np.ndarray], out_onnx: str,
                          float_nodes: List[str], float_types: Sequence[str],
                          preset: str) -> None:
    quantization = require('onnxruntime.quantization', 'onnxruntime')
    import onnx
    graph = onnx.load(onnx_file, load_external_data=False).graph
    input_name = graph.input[0].name
    float_nodes = list(float_nodes) + [n.name for n in graph.node if n.op_type in float_types]
    reader = _Reader(inputs, input_name)
    reader.__class__ = type('Reader', (_Reader, quantization.CalibrationDataReader), {})
    quantization.quantize_static(
        onnx_file, out_onnx, reader,
        quant_format=quantization.QuantFormat.QDQ,
        per_channel=True,
        activation_type=quantization.QuantType.QUInt8,
        weight_type=quantization.QuantType.QInt8,
        nodes_to_exclude=float_nodes,
        calibrate_method=quantization.CalibrationMethod.MinMax,
        extra_options=dict(ActivationSymmetric=preset == 'performance'))


def quantize(backend: str, onnx_file: str, inputs: Iterable[np.ndarray], count: int,
             out_file: str, float_nodes: Sequence[str] = (),
             float_types: Sequence[str] = DEFAULT_FLOAT_TYPES,
             preset: str = 'mixed') -> str:
    """Quantizes an exported fp32 graph to INT8 with calibration inputs.

    Args:
        backend (str): ``'openvino'`` (NNCF; writes ``out_file`` ``.xml`` and its
            ``.bin``) or ``'onnxruntime'`` (writes ``out_file`` ``.onnx``).
        onnx_file (str): The fp32 ONNX file.
        inputs (Iterable[np.ndarray]): Normalised float32 inputs (1, 3, H, W); iterated
            once.
        count (int): How many ``inputs`` there are.
        out_file (str): The model file to write (not atomically: see ``tools/quantize.py``
            for the staging folder).
        float_nodes (Sequence[str]): Graph nodes to keep in float (:func:`nodes_in_scope`).
        float_types (Sequence[str]): Op types to keep in float.
        preset (str): ``'mixed'`` (asymmetric activations, symmetric weights) or
            ``'performance'`` (symmetric both).

    Returns:
        str: ``out_file``.
    """
    if backend not in QUANT_BACKENDS:
        raise ValueError(f'backend {backend!r} is not one of {QUANT_BACKENDS}')
    if preset not in ('mixed', 'performance'):
        raise ValueError(f"preset {preset!r} is not 'mixed' or 'performance'")
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    folded = out_file + '.folded.onnx'
    try:
        fold_weight_splits(onnx_file, folded)
        if backend == 'openvino':
            _quantize_openvino(folded, inputs, count, out_file, list(float_nodes),
                               float_types, preset)
        else:
            _quantize_onnxruntime(folded, inputs, out_file, list(float_nodes), float_types,
                                  preset)
    finally:
        if os.path.exists(folded):
            os.remove(folded)
    return out_file


def model_files(out_file: str) -> List[str]:
    """The files a quantized model consists of (``.xml`` with its ``.bin``)."""
    root, ext = os.path.splitext(out_file)
    return [out_file, root + '.bin'] if ext == '.xml' else [out_file]
