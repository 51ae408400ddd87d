"""EncoderDecoder with the PSPNet authors' evaluation protocol as a third test mode."""
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import OptSampleList, SampleList
from .matlab_imresize import imresize, matlab_round, round_half_away

AUTHORS_DEFAULTS = dict(
    crop_size=(473, 473), stride=None, base_size=512, scales=(1.0, ), flip=True,
    long_side='caffe', pad='corner', flip_merge='logits', matlab_image=None)


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


def matlab_scaled_size(height: int, width: int, long_side: float) -> Tuple[int, int]:
    """``eval_sub.m``'s size, in MATLAB's single precision.

    ``new_rows = round(long_size / single(ori_cols) * ori_rows)`` (or the columns for a
    portrait image): the division and the product are single-precision operations and
    ``round`` goes half away from zero, so exact ties can round differently from double
    precision (290x348 at long side 513: 427.5 in single, 427.49999999999994 in double).
    The long side keeps ``long_size``, which ``imresize`` rounds up.

    Args:
        height (int): Image height (``ori_rows``).
        width (int): Image width (``ori_cols``).
        long_side (float): ``base_size * scale + 1``.

    Returns:
        tuple[int, int]: (height, width) after scaling.
    """
    single = np.float32
    long_px = int(math.ceil(long_side))
    if height > width:
        return long_px, int(matlab_round(single(long_side) / single(height) * single(width)))
    return int(matlab_round(single(long_side) / single(width) * single(height))), long_px


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

    With ``long_side='caffe'`` the steps follow MATLAB's semantics as the scripts
    (``eval_sub.m``, ``scale_process.m``, ``pre_img.m``) have them, unless
    ``matlab_image=False``: the 8-bit image (recovered from the normalised input) is
    resized by MATLAB's ``imresize`` (:mod:`.matlab_imresize`: antialiased when
    shrinking, uint8 after each dimension) before normalisation; the short side is
    computed in single precision; an image that needs several windows is padded with the
    mean cast to uint8 (``padarray``), one that fits one window with the exact mean; the
    probability maps are resized back with ``imresize`` too and renormalised. With
    ``matlab_image=False`` the normalised image is resized by ``F.interpolate``, sizes
    in double precision, padding 0.

    Example test_cfg::

        test_cfg=dict(mode='authors', crop_size=(473, 473), stride=(316, 316),
                      base_size=512, scales=(1.0, ), flip=True,
                      long_side='caffe', pad='corner', flip_merge='logits',
                      matlab_image=True)  # None (default): True for 'caffe'
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
        matlab = cfg['matlab_image']
        if matlab is None:
            matlab = cfg['long_side'] == 'caffe'
        elif matlab not in (True, False):
            raise ValueError(f'test_cfg.matlab_image must be True, False or None, got {matlab!r}')
        elif matlab and cfg['long_side'] != 'caffe':
            raise ValueError("test_cfg.matlab_image=True reproduces the Caffe release's MATLAB "
                             "scripts and needs long_side='caffe', got "
                             f"long_side={cfg['long_side']!r}")
        if matlab:
            return self._matlab_inference(image, out_size, cfg)
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

    def _normalisation(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        """The data preprocessor's mean and std, shaped (1, C, 1, 1) (0 and 1 if none)."""
        preprocessor = self.data_preprocessor
        channels = image.shape[1]
        if getattr(preprocessor, '_enable_normalize', False):
            mean = preprocessor.mean.to(image).reshape(1, -1, 1, 1)
            std = preprocessor.std.to(image).reshape(1, -1, 1, 1)
            if mean.shape[1] == channels:
                return mean, std
        return image.new_zeros((1, channels, 1, 1)), image.new_ones((1, channels, 1, 1))

    def _matlab_inference(self, image: Tensor, out_size: Sequence[int], cfg: dict) -> Tensor:
        """``eval_sub.m``/``scale_process.m``/``pre_img.m`` with MATLAB's image semantics.

        The 8-bit image is recovered from the normalised input (the preprocessor's
        ``(x - mean) / std`` undone and rounded; only channel order differs from MATLAB's
        RGB, which resizing and per-channel padding do not care about). Then per scale:
        single-precision size; ``imresize`` of the uint8 image (antialiased when
        shrinking, uint8 after each dimension); when the image needs several windows,
        padding of the uint8 image with ``uint8(mean)`` (``padarray`` casts the mean:
        123.68 -> 124), but when it fits one window ``pre_img.m`` pads in single
        precision with the exact mean (0 after normalisation); windows normalised as
        the preprocessor does; the window-averaged probabilities resized back with
        ``imresize`` (antialiased when shrinking) and divided by their sum over classes.
        """
        mean, std = self._normalisation(image)
        raw = image * std + mean
        pixels = raw.round()
        off = (raw - pixels).abs().max().item()
        if off > 1e-2 or pixels.min().item() < 0 or pixels.max().item() > 255:
            raise ValueError(
                "test_cfg.matlab_image=True resizes the 8-bit image as MATLAB's imresize "
                'does, but the image given to the data preprocessor is not 8-bit (values '
                f'{raw.min().item():.4g}..{raw.max().item():.4g}, up to {off:.3g} from an '
                'integer). Load images as uint8 (LoadImageFromFile does) or set '
                'test_cfg.matlab_image=False.')
        pixels = pixels.to(torch.uint8)
        window_pad = (round_half_away(mean).clamp(0, 255) - mean) / std  # uint8(mean)
        crop_h, crop_w = cfg['crop_size']
        height, width = image.shape[2:]
        probs = image.new_zeros((1, self.out_channels, *out_size))
        for scale in cfg['scales']:
            size = matlab_scaled_size(height, width, cfg['base_size'] * scale + 1)
            scaled = (imresize(pixels, size=size).to(image.dtype) - mean) / std
            one_window = size[0] <= crop_h and size[1] <= crop_w
            scale_probs = self._sliding_window_probs(
                scaled, cfg, pad_value=None if one_window else window_pad)
            scale_probs = imresize(scale_probs, size=out_size)
            probs += scale_probs / scale_probs.sum(dim=1, keepdim=True)
        return probs / len(cfg['scales'])

    def _sliding_window_probs(self, image: Tensor, cfg: dict,
                              pad_value: Optional[Tensor] = None) -> Tensor:
        """Window-averaged probabilities at the size of ``image`` (padding removed).

        ``pad_value`` (1, C, 1, 1) fills the padding per channel; 0 (the normalised
        mean) when None.
        """
        crop_h, crop_w = cfg['crop_size']
        stride_h, stride_w = cfg['stride'] or (math.ceil(crop_h * 2 / 3),
                                               math.ceil(crop_w * 2 / 3))
        height, width = image.shape[2:]
        pad_h, pad_w = max(crop_h - height, 0), max(crop_w - width, 0)
        top, left = (pad_h // 2, pad_w // 2) if cfg['pad'] == 'center' else (0, 0)
        if pad_value is None:
            image = F.pad(image, (left, pad_w - left, top, pad_h - top), value=0.)
        else:
            padded = pad_value.expand(1, -1, height + pad_h, width + pad_w).clone()
            padded[:, :, top:top + height, left:left + width] = image
            image = padded
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
