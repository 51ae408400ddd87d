"""Inference backends behind one call: normalised NCHW float32 in, float32 logits out."""
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch
import torch.nn as nn

from .onnx_export import SegmentorLogits

BACKENDS = ('eager', 'onnxruntime', 'openvino')
PRECISIONS = ('fp32', 'bf16')
ArrayLike = Union[np.ndarray, torch.Tensor]


def _as_numpy(inputs: ArrayLike) -> np.ndarray:
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.detach().cpu().numpy()
    return np.ascontiguousarray(inputs, dtype=np.float32)


def _eager(model: nn.Module, precision: str) -> Callable[[ArrayLike], np.ndarray]:
    wrapper = SegmentorLogits(model.eval())
    device = next(model.parameters()).device

    def run(inputs: ArrayLike) -> np.ndarray:
        inputs = torch.as_tensor(_as_numpy(inputs), device=device)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16,
                                  enabled=precision == 'bf16')
        with torch.no_grad(), autocast:
            logits = wrapper(inputs)
        return logits.float().cpu().numpy()

    return run


def _onnxruntime(onnx_file: Path, precision: str,
                 num_threads: Optional[int]) -> Callable[[ArrayLike], np.ndarray]:
    import onnxruntime as ort
    if precision != 'fp32':
        raise ValueError("the onnxruntime backend runs the exported fp32 graph only; use "
                         "precision='fp32' (or the openvino backend for bf16)")
    options = ort.SessionOptions()
    # Idle intra-op threads sleep instead of spinning: spinning threads starve whatever
    # else runs in the process between calls (PyTorch, another model) on a small CPU.
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if num_threads:
        options.intra_op_num_threads = num_threads
    available = ort.get_available_providers()
    providers = [p for p in ('CUDAExecutionProvider', 'CPUExecutionProvider')
                 if p in available]
    session = ort.InferenceSession(str(onnx_file), options, providers=providers)
    input_name = session.get_inputs()[0].name

    def run(inputs: ArrayLike) -> np.ndarray:
        return session.run(None, {input_name: _as_numpy(inputs)})[0]

    return run


def _openvino(onnx_file: Path, precision: str,
              num_threads: Optional[int]) -> Callable[[ArrayLike], np.ndarray]:
    import openvino as ov
    config = {'INFERENCE_PRECISION_HINT': 'f32' if precision == 'fp32' else 'bf16'}
    if num_threads:
        config['INFERENCE_NUM_THREADS'] = num_threads
    compiled = ov.Core().compile_model(str(onnx_file), 'CPU', config)
    request = compiled.create_infer_request()

    def run(inputs: ArrayLike) -> np.ndarray:
        result = request.infer({0: _as_numpy(inputs)})
        return np.asarray(result[compiled.output(0)], dtype=np.float32)

    return run


def build_backend(name: str,
                  onnx_file: Union[str, Path, None] = None,
                  model: Optional[nn.Module] = None,
                  precision: str = 'fp32',
                  num_threads: Optional[int] = None) -> Callable[[ArrayLike], np.ndarray]:
    """Returns a function from normalised images to logits, on the named backend.

    Args:
        name (str): ``'eager'`` (PyTorch; needs ``model``), ``'onnxruntime'`` or
            ``'openvino'`` (both need ``onnx_file``, written by
            :func:`~mmseg_psp_ext.deploy.export_onnx`).
        onnx_file (str | Path, optional): The exported graph.
        model (nn.Module, optional): A built segmentor, for ``'eager'``.
        precision (str): ``'fp32'`` or ``'bf16'`` (eager: CPU/CUDA autocast; OpenVINO:
            ``INFERENCE_PRECISION_HINT``, set explicitly to ``f32`` for fp32 since its
            CPU default is bf16 on CPUs with bf16 support).
        num_threads (int, optional): Intra-op threads for ONNX Runtime / OpenVINO.

    Returns:
        Callable: Takes a float32 array or tensor (N, 3, H, W), returns float32 numpy
        logits (N, num_classes, H, W).
    """
    if name not in BACKENDS:
        raise ValueError(f'backend {name!r} is not one of {BACKENDS}')
    if precision not in PRECISIONS:
        raise ValueError(f'precision {precision!r} is not one of {PRECISIONS}')
    if name == 'eager':
        if model is None:
            raise ValueError("the 'eager' backend needs model=")
        return _eager(model, precision)
    if onnx_file is None:
        raise ValueError(f'the {name!r} backend needs onnx_file= (see export_onnx)')
    onnx_file = Path(onnx_file)
    if not onnx_file.is_file():
        raise FileNotFoundError(f'ONNX file not found: {onnx_file}')
    if name == 'onnxruntime':
        return _onnxruntime(onnx_file, precision, num_threads)
    return _openvino(onnx_file, precision, num_threads)
