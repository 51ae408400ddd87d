"""The decode-head loss computed without the full-size logits, where that is exact."""
from typing import List, Optional

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.losses import CrossEntropyLoss

from ..losses.upsampled_cross_entropy import upsampled_cross_entropy


def _loss_terms(head: BaseDecodeHead) -> List[nn.Module]:
    """The head's ``loss_decode`` as a list (one loss module or a ``ModuleList``)."""
    losses = head.loss_decode
    return list(losses) if isinstance(losses, nn.ModuleList) else [losses]


def fast_loss_unsupported(head: BaseDecodeHead) -> Optional[str]:
    """Why :class:`FastLossMixin` cannot compute this head's loss, if so.

    The fast loss covers the plain softmax cross-entropy (MMSegmentation's
    ``CrossEntropyLoss`` with ``use_sigmoid=False``, ``use_mask=False``, no
    ``class_weight``, ``reduction='mean'``, any ``loss_weight`` and ``avg_non_ignore``)
    without a pixel sampler; other losses run MMSegmentation's own computation.

    Args:
        head (BaseDecodeHead): The decode head.

    Returns:
        str | None: The reason, or None when the fast loss is exact.
    """
    if head.sampler is not None:
        return f'it has a pixel sampler ({type(head.sampler).__name__})'
    for loss in _loss_terms(head):
        if type(loss) is not CrossEntropyLoss:
            return f'loss_decode has a {type(loss).__name__}'
        if loss.use_sigmoid or loss.use_mask:
            return 'loss_decode is a sigmoid or mask cross-entropy'
        if loss.class_weight is not None:
            return 'loss_decode has a class_weight'
        if loss.reduction != 'mean':
            return f"loss_decode has reduction={loss.reduction!r}"
    return None


class FastLossMixin:
    """``loss_by_feat`` with the cross-entropy of :func:`upsampled_cross_entropy`.

    Mixed into a ``BaseDecodeHead`` subclass with a ``fast_loss`` attribute. When
    ``fast_loss`` is set and :func:`fast_loss_unsupported` finds nothing, the loss
    terms and ``acc_seg`` equal MMSegmentation's ``BaseDecodeHead.loss_by_feat`` up to
    float rounding (and arg-max ties in ``acc_seg``) without building the upsampled
    logits, their log-softmax or their gradient: about a third of a PSPNet training
    step on the CPU and a third of its peak memory. Otherwise it runs
    ``BaseDecodeHead.loss_by_feat`` unchanged.
    """

    def loss_by_feat(self, seg_logits: torch.Tensor, batch_data_samples) -> dict:
        """Computes the loss terms and ``acc_seg`` (see the class doc).

        Args:
            seg_logits (torch.Tensor): ``(N, C, h, w)`` logits of ``forward``.
            batch_data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.

        Returns:
            dict[str, torch.Tensor]: ``loss_decode``'s names and ``acc_seg``.
        """
        if not getattr(self, 'fast_loss', False) or fast_loss_unsupported(self):
            return super().loss_by_feat(seg_logits, batch_data_samples)
        label = self._stack_batch_gt(batch_data_samples).squeeze(1)
        losses, hits = upsampled_cross_entropy(seg_logits, label, self.ignore_index,
                                               self.align_corners)
        valid = label != self.ignore_index
        eps = torch.finfo(torch.float32).eps
        num_valid = int(valid.sum())
        loss = dict()
        for term in _loss_terms(self):
            # MMSegmentation: the mean over all pixels, or over the non-ignored ones.
            total = losses.sum() / (num_valid + eps) if term.avg_non_ignore else losses.mean()
            value = term.loss_weight * total
            loss[term.loss_name] = loss[term.loss_name] + value if term.loss_name in loss \
                else value
        correct = hits.sum().float().reshape(1)
        # mmseg.models.losses.accuracy's formula, eps terms included.
        loss['acc_seg'] = (correct + eps) * (100.0 / (num_valid + eps))
        return loss
