"""PSPEncoderDecoder: the authors' protocol against a literal re-implementation of their scripts.

The references below follow the two original scripts line by line (the Caffe release's
MATLAB ``eval_sub.m``/``scale_process.m`` and semseg's ``tool/test.py``), in numpy with
OpenCV resizing, and use the model only as a black box scoring one window.
"""
import math
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine import Config, ConfigDict
from mmengine.dataset import Compose

import mmseg_psp_ext  # noqa: F401
from mmseg_psp_ext.models.segmentors.psp_encoder_decoder import (matlab_scaled_size,
                                                                 scaled_size)
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

register_all_modules(init_default_scope=True)
CONFIG_ROOT = osp.join(osp.dirname(__file__), '..', 'configs')
NUM_CLASSES = 5
CROP = 33


def tiny_model_cfg(test_cfg, segmentor='PSPEncoderDecoder'):
    norm_cfg = dict(type='BN', requires_grad=True)
    return dict(
        type=segmentor,
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255),
        backbone=dict(
            type='DilatedResNet', depth=18, stem_channels=8, base_channels=4,
            out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1),
            norm_cfg=norm_cfg, contract_dilation=True),
        decode_head=dict(
            type='PPMHead', in_channels=32, in_index=3, channels=8, pool_scales=(1, 2, 3, 6),
            dropout_ratio=0.1, num_classes=NUM_CLASSES, norm_cfg=norm_cfg, align_corners=False),
        test_cfg=ConfigDict(test_cfg))


def random_model(test_cfg, segmentor='PSPEncoderDecoder', seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(tiny_model_cfg(test_cfg, segmentor))
    with torch.no_grad():  # random BN statistics so that every layer matters
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return model.eval()


def net_scores(model, window_hwc):
    """Class logits of one crop (H, W, C numpy, normalised) -> (H, W, classes) numpy."""
    x = torch.from_numpy(np.ascontiguousarray(window_hwc.transpose(2, 0, 1)))[None].float()
    meta = [dict(img_shape=x.shape[2:], ori_shape=x.shape[2:], pad_shape=x.shape[2:])]
    with torch.no_grad():
        return model.encode_decode(x, meta)[0].numpy().transpose(1, 2, 0).astype(np.float64)


def softmax(scores):
    e = np.exp(scores - scores.max(axis=2, keepdims=True))
    return e / e.sum(axis=2, keepdims=True)


def flip_scored(model, window):
    """logits(x) + fliplr(logits(fliplr(x))), then softmax (the protocol's window score)."""
    return softmax(net_scores(model, window) + net_scores(model, window[:, ::-1])[:, ::-1])


def semseg_net_process(model, window):
    """semseg's net_process: softmax of each pass, then their sum."""
    return softmax(net_scores(model, window)) + softmax(
        net_scores(model, window[:, ::-1]))[:, ::-1]


def resize(array, rows, cols):
    return cv2.resize(array.astype(np.float32), (cols, rows), interpolation=cv2.INTER_LINEAR)


def caffe_reference(model, img, base_size, scales, crop, stride_rate=2 / 3, flip=True):
    """MATLAB eval_sub.m + scale_process.m, 1-based indices kept."""
    def score(window):
        return flip_scored(model, window) if flip else softmax(net_scores(model, window))

    ori_rows, ori_cols = img.shape[:2]
    data_all = np.zeros((ori_rows, ori_cols, NUM_CLASSES))
    for scale in scales:
        long_size = base_size * scale + 1
        new_rows, new_cols = long_size, long_size
        if ori_rows > ori_cols:
            new_cols = math.floor(long_size / ori_rows * ori_cols + 0.5)  # MATLAB round
        else:
            new_rows = math.floor(long_size / ori_cols * ori_rows + 0.5)
        new_rows, new_cols = int(new_rows), int(new_cols)
        img_scale = resize(img, new_rows, new_cols)
        # scale_process
        if max(new_rows, new_cols) <= crop:
            input_data = np.zeros((crop, crop, 3))
            input_data[:new_rows, :new_cols] = img_scale
            data_scale = score(input_data)[:new_rows, :new_cols]
        else:
            stride = math.ceil(crop * stride_rate)
            pad_rows, pad_cols = max(new_rows, crop), max(new_cols, crop)
            img_pad = np.zeros((pad_rows, pad_cols, 3))
            img_pad[:new_rows, :new_cols] = img_scale
            h_grid = math.ceil((pad_rows - crop) / stride) + 1
            w_grid = math.ceil((pad_cols - crop) / stride) + 1
            data_scale = np.zeros((pad_rows, pad_cols, NUM_CLASSES))
            count_scale = np.zeros((pad_rows, pad_cols, NUM_CLASSES))
            for grid_yidx in range(1, h_grid + 1):
                for grid_xidx in range(1, w_grid + 1):
                    s_x = (grid_xidx - 1) * stride + 1
                    s_y = (grid_yidx - 1) * stride + 1
                    e_x = min(s_x + crop - 1, pad_cols)
                    e_y = min(s_y + crop - 1, pad_rows)
                    s_x = e_x - crop + 1
                    s_y = e_y - crop + 1
                    img_sub = img_pad[s_y - 1:e_y, s_x - 1:e_x]
                    count_scale[s_y - 1:e_y, s_x - 1:e_x] += 1
                    data_scale[s_y - 1:e_y, s_x - 1:e_x] += score(img_sub)
            data_scale = (data_scale / count_scale)[:new_rows, :new_cols]
        data_all += resize(data_scale, ori_rows, ori_cols)
    return data_all / len(scales)


def semseg_reference(model, img, base_size, scales, crop, stride_rate=2 / 3):
    """semseg tool/test.py: test() + scale_process()."""
    h, w = img.shape[:2]
    prediction = np.zeros((h, w, NUM_CLASSES))
    for scale in scales:
        long_size = round(scale * base_size)
        new_h, new_w = long_size, long_size
        if h > w:
            new_w = round(long_size / float(h) * w)
        else:
            new_h = round(long_size / float(w) * h)
        image = resize(img, new_h, new_w)
        # scale_process
        ori_h, ori_w = image.shape[:2]
        pad_h, pad_w = max(crop - ori_h, 0), max(crop - ori_w, 0)
        pad_h_half, pad_w_half = int(pad_h / 2), int(pad_w / 2)
        if pad_h > 0 or pad_w > 0:
            image = cv2.copyMakeBorder(image, pad_h_half, pad_h - pad_h_half, pad_w_half,
                                       pad_w - pad_w_half, cv2.BORDER_CONSTANT, value=0)
        new_h2, new_w2 = image.shape[:2]
        stride = int(np.ceil(crop * stride_rate))
        grid_h = int(np.ceil(float(new_h2 - crop) / stride) + 1)
        grid_w = int(np.ceil(float(new_w2 - crop) / stride) + 1)
        prediction_crop = np.zeros((new_h2, new_w2, NUM_CLASSES))
        count_crop = np.zeros((new_h2, new_w2))
        for index_h in range(grid_h):
            for index_w in range(grid_w):
                s_h = index_h * stride
                e_h = min(s_h + crop, new_h2)
                s_h = e_h - crop
                s_w = index_w * stride
                e_w = min(s_w + crop, new_w2)
                s_w = e_w - crop
                count_crop[s_h:e_h, s_w:e_w] += 1
                prediction_crop[s_h:e_h, s_w:e_w] += semseg_net_process(
                    model, image[s_h:e_h, s_w:e_w])
        prediction_crop /= count_crop[:, :, None]
        prediction_crop = prediction_crop[pad_h_half:pad_h_half + ori_h,
                                          pad_w_half:pad_w_half + ori_w]
        prediction += resize(prediction_crop, h, w)
    return prediction / len(scales) / 2  # semseg sums the two passes' probabilities


# (image rows, cols, base_size, scales): windows tiling exactly (padded long side 55 =
# 33 + 22), not exactly, a scaled image smaller than the crop, and a multi-scale mix.
CASES = [(30, 50, 54, (1.0, )), (47, 31, 60, (1.0, )), (20, 26, 24, (1.0, )),
         (26, 37, 40, (0.5, 1.0, 1.5))]


@pytest.mark.parametrize('variant', ['caffe', 'semseg'])
@pytest.mark.parametrize('rows,cols,base_size,scales', CASES)
def test_authors_mode_equals_reference(variant, rows, cols, base_size, scales):
    caffe = variant == 'caffe'
    # matlab_image=False: the float path (normalised image, double-precision sizes, no
    # antialiasing); the MATLAB semantics are compared with their own port further down
    test_cfg = dict(mode='authors', crop_size=(CROP, CROP), base_size=base_size, scales=scales,
                    flip=True, long_side=variant, pad='corner' if caffe else 'center',
                    flip_merge='logits' if caffe else 'probs', matlab_image=False)
    model = random_model(test_cfg)
    img = np.random.RandomState(rows * cols).randn(rows, cols, 3).astype(np.float32)
    reference = (caffe_reference if caffe else semseg_reference)(
        model, img, base_size, scales, CROP)

    inputs = torch.from_numpy(img.transpose(2, 0, 1).copy())[None]
    sample = SegDataSample(metainfo=dict(ori_shape=(rows, cols), img_shape=(rows, cols)))
    with torch.no_grad():
        result = model.predict(inputs, [sample])[0]
    probs = result.seg_logits.data.numpy().transpose(1, 2, 0)
    assert probs.shape == reference.shape
    max_diff = np.abs(probs - reference).max()
    print(f'{variant} {rows}x{cols} base {base_size} scales {scales}: max |diff| {max_diff:.2e}')
    assert max_diff < 1e-5
    np.testing.assert_allclose(probs.sum(axis=2), 1.0, atol=1e-5)
    pred = result.pred_sem_seg.data[0].numpy()
    confident = np.sort(reference, axis=2)[..., -1] - np.sort(reference, axis=2)[..., -2] > 1e-4
    assert (pred == reference.argmax(axis=2))[confident].all()


def test_authors_mode_without_flip_equals_reference():
    test_cfg = dict(mode='authors', crop_size=(CROP, CROP), base_size=60, scales=(1.0, ),
                    flip=False, matlab_image=False)
    model = random_model(test_cfg)
    img = np.random.RandomState(5).randn(47, 31, 3).astype(np.float32)
    reference = caffe_reference(model, img, 60, (1.0, ), CROP, flip=False)
    with torch.no_grad():
        result = model.predict(torch.from_numpy(img.transpose(2, 0, 1).copy())[None],
                               [SegDataSample(metainfo=dict(ori_shape=(47, 31)))])[0]
    assert np.abs(result.seg_logits.data.numpy().transpose(1, 2, 0) - reference).max() < 1e-5


def test_caffe_and_semseg_variants_differ():
    """The two variants are not the same computation (guards against ignored options)."""
    cfg = dict(mode='authors', crop_size=(CROP, CROP), base_size=40, scales=(1.0, ),
               matlab_image=False)
    img = torch.randn(1, 3, 23, 31)
    sample = dict(metainfo=dict(ori_shape=(23, 31)))
    outs = []
    for long_side, pad, merge in [('caffe', 'corner', 'logits'), ('semseg', 'corner', 'logits'),
                                  ('caffe', 'center', 'logits'), ('caffe', 'corner', 'probs')]:
        model = random_model(dict(cfg, long_side=long_side, pad=pad, flip_merge=merge))
        with torch.no_grad():
            outs.append(model.predict(img, [SegDataSample(**sample)])[0].seg_logits.data)
    assert (outs[0] - outs[1]).abs().max() > 1e-4
    assert (outs[0] - outs[2]).abs().max() > 1e-4
    assert (outs[0] - outs[3]).abs().max() > 1e-4


@pytest.mark.parametrize('test_cfg', [
    dict(mode='whole'),
    dict(mode='slide', crop_size=(24, 24), stride=(16, 16)),
])
def test_whole_and_slide_equal_encoder_decoder(test_cfg):
    ours = random_model(test_cfg)
    theirs = random_model(test_cfg, segmentor='EncoderDecoder')
    theirs.load_state_dict(ours.state_dict())
    inputs = torch.randn(2, 3, 40, 52)
    meta = dict(ori_shape=(45, 60), img_shape=(40, 52), pad_shape=(40, 52))
    with torch.no_grad():
        a = ours.predict(inputs, [SegDataSample(metainfo=meta) for _ in range(2)])
        b = theirs.predict(inputs, [SegDataSample(metainfo=meta) for _ in range(2)])
    for x, y in zip(a, b):
        assert x.seg_logits.data.shape == (NUM_CLASSES, 45, 60)
        assert torch.equal(x.seg_logits.data, y.seg_logits.data)
        assert torch.equal(x.pred_sem_seg.data, y.pred_sem_seg.data)


def test_bad_option_is_named():
    model = random_model(dict(mode='authors', crop_size=(CROP, CROP), long_side='matlab'))
    with pytest.raises(ValueError, match='long_side'):
        model.predict(torch.zeros(1, 3, 20, 20))


@pytest.mark.parametrize('dataset', ['ade20k', 'voc12', 'cityscapes'])
def test_protocol_snippets(dataset, tmp_path):
    """The snippets compose with a full config and run through test_step at full size."""
    child = tmp_path / 'child.py'
    base = osp.abspath(osp.join(CONFIG_ROOT, 'pspnet_r50_ade20k.py'))
    snippet = osp.abspath(osp.join(CONFIG_ROOT, '_base_', 'protocols', f'authors_{dataset}.py'))
    child.write_text(
        f'_base_ = [{base!r}, {snippet!r}]\n'
        'model = _base_.authors_model\n'
        'val_dataloader = dict(dataset=dict(pipeline=_base_.authors_test_pipeline))\n'
        'test_dataloader = val_dataloader\n')
    cfg = Config.fromfile(str(child))
    assert cfg.model.type == 'PSPEncoderDecoder'
    assert cfg.model.test_cfg.mode == 'authors'
    assert cfg.model.test_cfg.crop_size == ((713, 713) if dataset == 'cityscapes' else (473, 473))
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert not any('Resize' in step['type'] for step in pipeline)

    # a tiny model with the snippet's test_cfg (scaled down) through the runner's path
    test_cfg = dict(cfg.model.test_cfg, crop_size=(CROP, CROP), stride=None, base_size=48)
    model = random_model(test_cfg)
    rng = np.random.RandomState(0)
    cv2.imwrite(str(tmp_path / 'img.png'), rng.randint(0, 255, (37, 29, 3), np.uint8))
    cv2.imwrite(str(tmp_path / 'gt.png'), rng.randint(0, NUM_CLASSES, (37, 29), np.uint8))
    data = Compose(pipeline)(dict(img_path=str(tmp_path / 'img.png'),
                                  seg_map_path=str(tmp_path / 'gt.png'), seg_fields=[],
                                  reduce_zero_label=dataset == 'ade20k'))
    batch = dict(inputs=[data['inputs']], data_samples=[data['data_samples']])
    with torch.no_grad():
        out = model.test_step(batch)[0]
    assert out.pred_sem_seg.data.shape == (1, 37, 29)
    assert out.seg_logits.data.shape == (NUM_CLASSES, 37, 29)
    assert out.gt_sem_seg.data.shape == (1, 37, 29)


# --- The Caffe release's MATLAB scripts with MATLAB's image semantics -----------------
# A port of evaluation/eval_sub.m, scale_process.m, pre_img.m and caffe_process.m
# (hszhao/PSPNet), with its own loop-by-loop imresize written from MATLAB's documented
# algorithm (not the plugin's vectorised one). MATLAB arrays are numpy arrays; ``single``
# is float32, ``uint8`` is uint8, 1-based indices are kept where the scripts use them.
CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)  # mean_r, mean_g, mean_b of the scripts
CAFFE_PREPROCESSOR = dict(type='SegDataPreProcessor', mean=[103.939, 116.779, 123.68],
                          std=[1.0, 1.0, 1.0], bgr_to_rgb=False, pad_val=0, seg_pad_val=255)


def mround(value):
    """MATLAB round (and cast to an integer class): half away from zero."""
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def loop_contributions(in_length, out_length, scale):
    """imresize.m's contributions() for 'bilinear' with antialiasing, one pixel at a time."""
    width = 2.0 / scale if scale < 1 else 2.0
    rows = []
    for x in range(1, out_length + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = []
        for j in range(left, left + math.ceil(width) + 2):
            d = u - j
            w = scale * max(0.0, 1 - abs(scale * d)) if scale < 1 else max(0.0, 1 - abs(d))
            taps.append([j, w])
        total = sum(w for _, w in taps)
        for tap in taps:
            tap[1] /= total
            m = (tap[0] - 1) % (2 * in_length)  # aux = [1:in, in:-1:1]
            tap[0] = m if m < in_length else 2 * in_length - 1 - m  # 0-based
        rows.append(taps)
    # columns whose weight is 0 for every output pixel are dropped; a zero weight adds
    # nothing to the sum, so keeping them changes no value
    return rows


def loop_imresize(img, rows, cols):
    """imresize(img, [rows cols], 'bilinear') of an (H, W, C) uint8 or float32 array."""
    rows, cols = math.ceil(rows), math.ceil(cols)
    scales = [rows / img.shape[0], cols / img.shape[1]]
    order = [0, 1] if scales[0] <= scales[1] else [1, 0]  # [~, order] = sort(scale)
    out = img
    for dim in order:
        size = (rows, cols)[dim]
        if size == out.shape[dim] and scales[dim] == 1:
            continue
        weights = loop_contributions(out.shape[dim], size, scales[dim])
        src = np.moveaxis(out, dim, 0).astype(np.float64)
        res = np.zeros((size, ) + src.shape[1:])
        for i, taps in enumerate(weights):
            for j, w in taps:
                res[i] += w * src[j]
        res = np.moveaxis(res, 0, dim)
        if img.dtype == np.uint8:  # uint8 in, uint8 out, after each dimension
            res = np.vectorize(mround)(res).clip(0, 255).astype(np.uint8)
        else:
            res = res.astype(img.dtype)
        out = res
    return out


def caffe_process(model, input_data):
    """caffe_process.m: scores of the window and of its mirror, added, then softmax."""
    score = net_scores(model, input_data) + net_scores(model, input_data[:, ::-1])[:, ::-1]
    score = np.exp(score)
    return (score / score.sum(axis=2, keepdims=True)).astype(np.float32)


def pre_img(im, crop_size, mean_rgb):
    """pre_img.m: single, padded with the exact mean, mean subtracted, RGB -> BGR."""
    row, col = im.shape[:2]
    im_pad = im.astype(np.float32)
    mean = np.array(mean_rgb, np.float32)
    if row < crop_size:
        im_pad = np.concatenate([im_pad, np.broadcast_to(mean, (crop_size - row, col, 3))])
    if col < crop_size:
        im_pad = np.concatenate(
            [im_pad, np.broadcast_to(mean, (im_pad.shape[0], crop_size - col, 3))], axis=1)
    im_pad = im_pad - mean
    return im_pad[:, :, ::-1]  # the permute to Caffe's layout is not needed here


def scale_process(model, img_scale, crop_size, ori_rows, ori_cols, mean_rgb):
    """scale_process.m."""
    new_rows, new_cols = img_scale.shape[:2]
    long_size, short_size = max(new_rows, new_cols), min(new_rows, new_cols)
    if long_size <= crop_size:
        score = caffe_process(model, pre_img(img_scale, crop_size, mean_rgb))
        score = score[:new_rows, :new_cols]
    else:
        stride = math.ceil(crop_size * 2 / 3)
        img_pad = img_scale
        if short_size < crop_size:
            # padarray on a uint8 image casts the mean to uint8: 123.68 -> 124, ...
            mean_u8 = np.array([mround(m) for m in mean_rgb], np.uint8)
            if new_rows < crop_size:
                img_pad = np.concatenate(
                    [img_pad, np.broadcast_to(mean_u8, (crop_size - new_rows, new_cols, 3))])
            if new_cols < crop_size:
                img_pad = np.concatenate([img_pad, np.broadcast_to(
                    mean_u8, (img_pad.shape[0], crop_size - new_cols, 3))], axis=1)
        pad_rows, pad_cols = img_pad.shape[:2]
        h_grid = math.ceil(np.float32(pad_rows - crop_size) / stride) + 1
        w_grid = math.ceil(np.float32(pad_cols - crop_size) / stride) + 1
        data_scale = np.zeros((pad_rows, pad_cols, NUM_CLASSES), np.float32)
        count_scale = np.zeros((pad_rows, pad_cols, NUM_CLASSES), np.float32)
        for grid_yidx in range(1, h_grid + 1):
            for grid_xidx in range(1, w_grid + 1):
                s_x = (grid_xidx - 1) * stride + 1
                s_y = (grid_yidx - 1) * stride + 1
                e_x = min(s_x + crop_size - 1, pad_cols)
                e_y = min(s_y + crop_size - 1, pad_rows)
                s_x = e_x - crop_size + 1
                s_y = e_y - crop_size + 1
                img_sub = img_pad[s_y - 1:e_y, s_x - 1:e_x]
                count_scale[s_y - 1:e_y, s_x - 1:e_x] += 1
                data_scale[s_y - 1:e_y, s_x - 1:e_x] += caffe_process(
                    model, pre_img(img_sub, crop_size, mean_rgb))
        score = (data_scale / count_scale)[:new_rows, :new_cols]
    data_output = loop_imresize(score, ori_rows, ori_cols)
    return data_output / data_output.sum(axis=2, keepdims=True)


def eval_sub(model, img, base_size, scale_array, crop_size, mean_rgb=CAFFE_MEAN_RGB):
    """eval_sub.m for one image (imread's uint8 RGB), returning data_all."""
    ori_rows, ori_cols = img.shape[:2]
    data_all = np.zeros((ori_rows, ori_cols, NUM_CLASSES), np.float32)
    for scale in scale_array:
        long_size = base_size * scale + 1
        new_rows = new_cols = long_size
        single = np.float32  # long_size / single(ori_rows) * ori_cols is single
        if ori_rows > ori_cols:
            new_cols = mround(single(long_size) / single(ori_rows) * single(ori_cols))
        else:
            new_rows = mround(single(long_size) / single(ori_cols) * single(ori_rows))
        img_scale = loop_imresize(img, new_rows, new_cols)
        data_all += scale_process(model, img_scale, crop_size, ori_rows, ori_cols, mean_rgb)
    return data_all / len(scale_array)


def caffe_model(test_cfg, seed=0):
    """The random tiny PSPNet with the Caffe input normalisation (mean only, BGR)."""
    model = random_model(test_cfg, seed=seed)
    model.data_preprocessor = MODELS.build(CAFFE_PREPROCESSOR)
    return model


def run_test_step(model, img_bgr):
    """The runner's path: uint8 BGR image (as LoadImageFromFile gives) -> test_step."""
    rows, cols = img_bgr.shape[:2]
    sample = SegDataSample(metainfo=dict(ori_shape=(rows, cols), img_shape=(rows, cols)))
    batch = dict(inputs=[torch.from_numpy(img_bgr.transpose(2, 0, 1).copy())],
                 data_samples=[sample])
    with torch.no_grad():
        return model.test_step(batch)[0]


# (rows, cols, base_size, scales), crop 33:
# - 21x28 at long side 34: 34/28*21 is the tie 25.5, single 25.500002 -> 26 (double
#   25.499999999999996 -> 25); 34 > 33 with 26 < 33: windows, uint8-mean padding;
#   enlarged image, score map shrunk with antialiasing;
# - 37x23 portrait at 41: windows with padding on the right;
# - 47x61 at 25: the image shrinks with antialiasing, one window padded in single;
# - 45x61 at 31, 41, 71 (0.75, 1, 1.75 x 40 + 1): one window, padded windows, windows
#   without padding.
# Each MATLAB detail left out alone moves the probabilities by at least 2.9e-4 on the
# cases it concerns (uint8 resizing: all; the uint8 padding mean: the padded ones; single
# sizes: the first; antialiasing: all), the plugin's MATLAB path stays within 5e-7.
MATLAB_CASES = [(21, 28, 33, (1.0, )), (37, 23, 40, (1.0, )), (47, 61, 24, (1.0, )),
                (45, 61, 40, (0.75, 1.0, 1.75))]


@pytest.mark.parametrize('rows,cols,base_size,scales', MATLAB_CASES)
def test_matlab_semantics_equal_the_scripts(rows, cols, base_size, scales):
    test_cfg = dict(mode='authors', crop_size=(CROP, CROP), base_size=base_size,
                    scales=scales, flip=True, long_side='caffe', pad='corner')
    model = caffe_model(test_cfg)
    img_bgr = np.random.RandomState(rows * cols).randint(0, 256, (rows, cols, 3), np.uint8)
    reference = eval_sub(model, img_bgr[:, :, ::-1], base_size, scales, CROP)

    probs = run_test_step(model, img_bgr).seg_logits.data.numpy().transpose(1, 2, 0)
    max_diff = np.abs(probs - reference).max()
    print(f'MATLAB {rows}x{cols} base {base_size} scales {scales}: max |diff| {max_diff:.2e}')
    assert max_diff < 2e-6

    # the float path (matlab_image=False) differs by 7e-4 to 3e-2 on these cases, so the
    # comparison above can fail
    model.test_cfg = ConfigDict(test_cfg, matlab_image=False)
    float_probs = run_test_step(model, img_bgr).seg_logits.data.numpy().transpose(1, 2, 0)
    assert np.abs(float_probs - reference).max() > 1e-4


@pytest.mark.parametrize('rows,cols,long_side,matlab,double', [
    (290, 348, 513, (428, 513), (427, 513)),  # 427.5: single 427.5 -> 428, double 427.49..
    (348, 290, 513, (513, 428), (513, 427)),  # portrait: the columns are computed
    (266, 532, 641, (321, 641), (320, 641)),  # scale 1.25: 320.5
    (330, 660, 769, (385, 769), (384, 769)),  # scale 1.5: 384.5
    (480, 320, 513, (513, 342), (513, 342)),  # no tie: both agree
])
def test_single_precision_sizes(rows, cols, long_side, matlab, double):
    assert matlab_scaled_size(rows, cols, long_side) == matlab
    assert scaled_size(rows, cols, long_side, 'half_up') == double


@pytest.mark.parametrize('rows,cols,padded', [(21, 40, True), (20, 26, False)])
def test_padding_values_after_mean_subtraction(rows, cols, padded):
    """Windows that pad a uint8 image carry uint8(mean) - mean; pre_img's pad is exact.

    Caffe mean (RGB) 123.68, 116.779, 103.939 -> uint8 124, 117, 104 -> after
    subtraction 0.32, 0.221, 0.061, fed as BGR: (0.061, 0.221, 0.32).
    """
    base_size = cols - 1  # long side = cols: no resizing
    test_cfg = dict(mode='authors', crop_size=(CROP, CROP), base_size=base_size,
                    scales=(1.0, ), flip=False, long_side='caffe', pad='corner')
    model = caffe_model(test_cfg)
    windows = []
    encode_decode = model.encode_decode
    model.encode_decode = lambda x, meta: windows.append(x.clone()) or encode_decode(x, meta)
    img = np.random.RandomState(0).randint(0, 256, (rows, cols, 3), np.uint8)
    run_test_step(model, img)
    assert windows and all(w.shape[2:] == (CROP, CROP) for w in windows)
    pad = windows[0][0, :, rows:, :].reshape(3, -1)
    if padded:  # 40 > 33 columns: two windows, the 21 rows padded in uint8
        assert len(windows) == 2
        expected = np.float32([104, 117, 124]) - np.float32([103.939, 116.779, 123.68])
        np.testing.assert_allclose(expected, [0.061, 0.221, 0.32], atol=1e-5)
        for channel in range(3):
            assert torch.all(pad[channel] == float(expected[channel]))
    else:  # 20x26 fits one window: padded in single precision with the exact mean
        assert len(windows) == 1
        assert torch.all(pad == 0) and torch.all(windows[0][0, :, :, cols:] == 0)
    # the image part is the uint8 image minus the mean, unresized
    np.testing.assert_array_equal(
        windows[0][0, :, :rows, :min(cols, CROP)].numpy(),
        (img.astype(np.float32) - np.float32([103.939, 116.779, 123.68])
         ).transpose(2, 0, 1)[:, :, :min(cols, CROP)])


def test_matlab_semantics_need_an_8bit_image():
    model = caffe_model(dict(mode='authors', crop_size=(CROP, CROP), base_size=40))
    sample = SegDataSample(metainfo=dict(ori_shape=(20, 20)))
    with pytest.raises(ValueError, match='matlab_image=False'):
        model.predict(torch.randn(1, 3, 20, 20), [sample])
    model.test_cfg = ConfigDict(mode='authors', long_side='semseg', matlab_image=True)
    with pytest.raises(ValueError, match="needs long_side='caffe'"):
        model.predict(torch.zeros(1, 3, 20, 20), [sample])
