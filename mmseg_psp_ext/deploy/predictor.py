"""One-image prediction with the config's test pipeline and test mode, on any backend."""
import copy
import types
from pathlib import Path
from typing import List, Optional, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate

from .backends import build_backend

ImageInput = Union[str, Path, np.ndarray]


def test_pipeline_cfg(cfg) -> List[dict]:
    """The config's test pipeline without ``LoadAnnotations`` (there is no label)."""
    pipeline = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.pipeline
    return [copy.deepcopy(t) for t in pipeline if t['type'] != 'LoadAnnotations']


def _feature_target_size(inputs: torch.Tensor, batch_img_metas: List[dict]):
    """The size ``BaseDecodeHead.predict_by_feat`` resizes the logits to."""
    meta = batch_img_metas[0]
    if isinstance(meta['img_shape'], torch.Size):
        return tuple(meta['img_shape'])
    if 'pad_shape' in meta:
        return tuple(meta['pad_shape'][:2])
    return tuple(meta['img_shape'][:2])


def attach_backend(model: nn.Module, run) -> nn.Module:
    """Makes ``model.encode_decode`` call ``run`` (an exported graph) instead of PyTorch.

    The segmentor's own ``predict`` then drives the backend, so ``'whole'``, ``'slide'``
    and ``'authors'`` test modes, the preprocessing and the postprocessing stay those of
    the config. The graph's logits come at the input size, which is the size the decode
    head resizes to unless the meta data says otherwise (then they are resized again).
    """

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]):
        logits = torch.from_numpy(run(inputs.float())).to(inputs.device)
        size = _feature_target_size(inputs, batch_img_metas)
        if tuple(logits.shape[2:]) != size:
            logits = F.interpolate(logits, size=size, mode='bilinear',
                                   align_corners=self.align_corners)
        return logits

    model.encode_decode = types.MethodType(encode_decode, model)
    return model


class SegPredictor:
    """Predicts label maps of single images as ``tools/test.py`` would.

    Args:
        model (nn.Module): A segmentor from :func:`~.loading.load_segmentor` (with
            ``cfg`` and ``dataset_meta``).
        backend (str): ``'eager'``, ``'onnxruntime'`` or ``'openvino'``.
        onnx_file (str | Path, optional): The exported graph, for the ONNX backends.
        precision (str): ``'fp32'`` or ``'bf16'``; for the OpenVINO backend only (the
            eager model is prepared by the caller).
    """

    def __init__(self, model: nn.Module, backend: str = 'eager',
                 onnx_file: Optional[Union[str, Path]] = None,
                 precision: str = 'fp32') -> None:
        self.model = model.eval()
        self.backend = backend
        if backend != 'eager':
            attach_backend(self.model, build_backend(backend, onnx_file, precision=precision))
        pipeline = test_pipeline_cfg(model.cfg)
        self.file_pipeline = Compose(pipeline)
        array_pipeline = copy.deepcopy(pipeline)
        if array_pipeline and array_pipeline[0]['type'] == 'LoadImageFromFile':
            array_pipeline[0] = dict(type='LoadImageFromNDArray')
        self.array_pipeline = Compose(array_pipeline)

    def predict(self, image: ImageInput):
        """The ``SegDataSample`` for one image: a file path or a BGR uint8 array."""
        if isinstance(image, np.ndarray):
            data = self.array_pipeline(dict(img=image))
        else:
            data = self.file_pipeline(dict(img_path=str(image)))
        batch = pseudo_collate([data])
        with torch.no_grad():
            return self.model.test_step(batch)[0]

    def labels(self, image: ImageInput) -> np.ndarray:
        """Predicted class indices (H, W) at the image's original size, int64."""
        return self.predict(image).pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
