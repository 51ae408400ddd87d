"""mIoU of a segmentor on the config's validation set, and pixel agreement of two runs.

The segmentor's own ``test_step`` runs (so the config's test mode, whole, sliding window
or the authors' protocol, applies); a model with an exported graph attached
(:func:`~.predictor.attach_backend`) is evaluated the same way.
"""
import copy
import sys
from typing import Dict, List, NamedTuple, Optional

import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from tqdm import tqdm


class Evaluation(NamedTuple):
    """The metrics of one run and its predicted label maps (uint8 or int64 arrays)."""
    metrics: Dict[str, float]
    labels: List[np.ndarray]

    @property
    def miou(self) -> float:
        return float(self.metrics['mIoU'])


def validation_loader(cfg, num_images: Optional[int] = None):
    """The config's ``val_dataloader`` (first ``num_images`` samples), batch size 1."""
    loader_cfg = copy.deepcopy(cfg.get('val_dataloader') or cfg.test_dataloader)
    loader_cfg['batch_size'] = 1
    loader_cfg['num_workers'] = 0
    loader_cfg.pop('persistent_workers', None)
    if num_images is not None:
        if num_images < 1:
            raise ValueError(f'--eval-images must be at least 1, got {num_images}')
        loader_cfg['dataset']['indices'] = int(num_images)
    return Runner.build_dataloader(loader_cfg)


def evaluate(model: nn.Module, loader, evaluator_cfg, desc: str = 'evaluating') -> Evaluation:
    """Runs ``model.test_step`` over ``loader`` and evaluates with ``evaluator_cfg``.

    Args:
        model (nn.Module): A segmentor in eval mode.
        loader (DataLoader): From :func:`validation_loader`.
        evaluator_cfg (dict | list): The config's ``val_evaluator``.
        desc (str): Progress-bar label.

    Returns:
        Evaluation: Metrics (``mIoU`` etc., in percent) and the predicted labels.
    """
    evaluator = Evaluator(copy.deepcopy(evaluator_cfg))
    evaluator.dataset_meta = loader.dataset.metainfo
    labels = []
    for data in tqdm(loader, desc=desc, file=sys.stdout):
        with torch.no_grad():
            preds = model.test_step(data)
        evaluator.process(preds, data)
        labels.extend(p.pred_sem_seg.data[0].cpu().numpy() for p in preds)
    metrics = evaluator.evaluate(len(loader.dataset))
    return Evaluation({k: float(v) for k, v in metrics.items()}, labels)


def pixel_agreement(a: List[np.ndarray], b: List[np.ndarray]) -> float:
    """Share of pixels with the same label in two runs over the same images."""
    same = sum(int((x == y).sum()) for x, y in zip(a, b))
    return same / max(sum(x.size for x in a), 1)
