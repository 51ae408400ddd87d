"""EncoderDecoder with the PSPNet authors' evaluation protocol as a third test mode."""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import OptSampleList, SampleList

AUTHORS_DEFAULTS = dict(
    crop_size=(473, 473), stride=None, base_size=512, scales=(1.0, ), flip=True,
    long_side='caffe', pad='corner', flip_merge='logits')


def scaled_size(height: int, width: int, long_side: int,
                rounding: str) -> Tuple[int, int]:
    """Size with the long side set to ``long_side``, keeping the aspect ratio.

    Args:
        height (int): Image height.
        width (int): Image width.
        long_side (int): Wanted length of the longer side (width on ties).
        rounding (str): 'half_up' (MATLAB ``round``) or 'half_even' (Python ``round``).

    Returns:
        tuple[int, int]: (height, width) after scaling.
    """
    def to_int(value: float) -> int:
        return int(math.floor(value + 0.5)) if rounding == 'half_up' else int(round(value))

    if height > width:
        return long_side, to_int(long_side / height * width)
    return to_int(long_side / width * height), long_side


def window_starts(length: int, crop: int, stride: int) -> List[int]:
    """Starts of the sliding windows along one axis; the last is shifted to the border.

    ``length`` is already padded to at least ``crop``.
    """
    num = int(math.ceil((length - crop) / stride)) + 1
    return [min(i * stride + crop, length) - crop for i in range(num)]


@MODELS.register_module()
class PSPEncoderDecoder(EncoderDecoder):
    """MMSegmentation's ``EncoderDecoder`` plus ``test_cfg.mode='authors'``.

    ``'whole'`` and ``'slide'`` behave exactly as in ``EncoderDecoder``. ``'authors'``
    reproduces the evaluation of the PSPNet authors (the Caffe release's MATLAB scripts,
    or their PyTorch reimplementation *semseg*) from the un-resized test image:

    1. for each scale ``s``, resize the image (bilinear) so that its long side is
       ``base_size * s + 1`` (``long_side='caffe'``) or ``round(base_size * s)``
       (``'semseg'``), keeping the aspect ratio;
    2. pad it to at least ``crop_size`` with 0 (the mean, after normalisation), at the
       bottom/right (``pad='corner'``, Caffe) or centred (``pad='center'``, semseg);
    3. slide a ``crop_size`` window with ``stride`` (default ``ceil(2/3 * crop)``), the
       last window shifted to the border; each window scores
       ``softmax(logits(x) + flip(logits(flip(x))))`` (Caffe; no flip term when
       ``flip=False``), or with ``flip_merge='probs'`` the mean of the two softmaxes
       (semseg's ``net_process``);
    4. average the probabilities over overlapping windows, drop the padding, resize
       (bilinear) to the original size, average over scales; argmax.

    ``seg_logits`` of the returned samples holds these averaged class probabilities.

    Example test_cfg::

        test_cfg=dict(mode='authors', crop_size=(473, 473), stride=(316, 316),
                      base_size=512, scales=(1.0, ), flip=True,
                      long_side='caffe', pad='corner', flip_merge='logits')
    """

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Predicts as ``EncoderDecoder`` does, or with the authors' protocol.

        Args:
            inputs (Tensor): Normalised images, shape (N, C, H, W).
            data_samples (list[SegDataSample], optional): Samples with ``ori_shape``
                (and ``padding_size`` when the preprocessor padded the batch).

        Returns:
            list[SegDataSample]: Samples with ``pred_sem_seg`` and ``seg_logits`` at the
            original image size.
        """
        if self.test_cfg.get('mode', 'whole') != 'authors':
            return super().predict(inputs, data_samples)
        if data_samples is None:
            data_samples = [
                SegDataSample(metainfo=dict(ori_shape=tuple(inputs.shape[2:])))
                for _ in range(inputs.shape[0])
            ]
        for image, data_sample in zip(inputs, data_samples):
            meta = data_sample.metainfo
            left, right, top, bottom = meta.get('padding_size', None) or [0, 0, 0, 0]
            image = image[:, top:image.shape[1] - bottom, left:image.shape[2] - right]
            probs = self.authors_inference(image[None], tuple(meta['ori_shape'][:2]))[0]
            data_sample.set_data({
                'seg_logits': PixelData(data=probs),
                'pred_sem_seg': PixelData(data=probs.argmax(dim=0, keepdim=True)),
            })
        return data_samples

    def authors_inference(self, image: Tensor, out_size: Sequence[int]) -> Tensor:
        """Class probabilities of one image with the authors' protocol.

        Args:
            image (Tensor): One normalised image, shape (1, C, H, W), not resized.
            out_size (tuple[int, int]): Size of the returned map (the original size).

        Returns:
            Tensor: Probabilities averaged over scales, shape (1, num_classes, *out_size).
        """
        cfg = {**AUTHORS_DEFAULTS, **self.test_cfg}
        if cfg['long_side'] not in ('caffe', 'semseg'):
            raise ValueError(f"test_cfg.long_side must be 'caffe' or 'semseg', "
                             f"got {cfg['long_side']!r}")
        if cfg['pad'] not in ('corner', 'center'):
            raise ValueError(f"test_cfg.pad must be 'corner' or 'center', got {cfg['pad']!r}")
        if cfg['flip_merge'] not in ('logits', 'probs'):
            raise ValueError(f"test_cfg.flip_merge must be 'logits' or 'probs', "
                             f"got {cfg['flip_merge']!r}")
        height, width = image.shape[2:]
        probs = image.new_zeros((1, self.out_channels, *out_size))
        for scale in cfg['scales']:
            if cfg['long_side'] == 'caffe':
                size = scaled_size(height, width, int(round(cfg['base_size'] * scale)) + 1,
                                   'half_up')
            else:
                size = scaled_size(height, width, int(round(cfg['base_size'] * scale)),
                                   'half_even')
            scaled = F.interpolate(image, size=size, mode='bilinear', align_corners=False)
            scale_probs = self._sliding_window_probs(scaled, cfg)
            probs += F.interpolate(scale_probs, size=out_size, mode='bilinear',
                                   align_corners=False)
        return probs / len(cfg['scales'])

    def _sliding_window_probs(self, image: Tensor, cfg: dict) -> Tensor:
        """Window-averaged probabilities at the size of ``image`` (padding removed)."""
        crop_h, crop_w = cfg['crop_size']
        stride_h, stride_w = cfg['stride'] or (math.ceil(crop_h * 2 / 3),
                                               math.ceil(crop_w * 2 / 3))
        height, width = image.shape[2:]
        pad_h, pad_w = max(crop_h - height, 0), max(crop_w - width, 0)
        top, left = (pad_h // 2, pad_w // 2) if cfg['pad'] == 'center' else (0, 0)
        image = F.pad(image, (left, pad_w - left, top, pad_h - top), value=0.)
        padded_h, padded_w = image.shape[2:]
        probs = image.new_zeros((1, self.out_channels, padded_h, padded_w))
        count = image.new_zeros((1, 1, padded_h, padded_w))
        meta = [dict(img_shape=(crop_h, crop_w), ori_shape=(crop_h, crop_w),
                     pad_shape=(crop_h, crop_w))]
        for y in window_starts(padded_h, crop_h, stride_h):
            for x in window_starts(padded_w, crop_w, stride_w):
                window = image[:, :, y:y + crop_h, x:x + crop_w]
                if cfg['flip']:
                    logits = self.encode_decode(torch.cat([window, window.flip(3)]), meta * 2)
                    logits[1:] = logits[1:].flip(3)
                    if cfg['flip_merge'] == 'logits':
                        window_probs = (logits[:1] + logits[1:]).softmax(dim=1)
                    else:
                        window_probs = logits.softmax(dim=1).mean(dim=0, keepdim=True)
                else:
                    window_probs = self.encode_decode(window, meta).softmax(dim=1)
                probs[:, :, y:y + crop_h, x:x + crop_w] += window_probs
                count[:, :, y:y + crop_h, x:x + crop_w] += 1
        return (probs / count)[:, :, top:top + height, left:left + width]
