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
    test_cfg = dict(mode='authors', crop_size=(CROP, CROP), base_size=base_size, scales=scales,
                    flip=True, long_side=variant, pad='corner' if caffe else 'center',
                    flip_merge='logits' if caffe else 'probs')
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
                    flip=False)
    model = random_model(test_cfg)
    img = np.random.RandomState(5).randn(47, 31, 3).astype(np.float32)
    reference = caffe_reference(model, img, 60, (1.0, ), CROP, flip=False)
    with torch.no_grad():
        result = model.predict(torch.from_numpy(img.transpose(2, 0, 1).copy())[None],
                               [SegDataSample(metainfo=dict(ori_shape=(47, 31)))])[0]
    assert np.abs(result.seg_logits.data.numpy().transpose(1, 2, 0) - reference).max() < 1e-5


def test_caffe_and_semseg_variants_differ():
    """The two variants are not the same computation (guards against ignored options)."""
    cfg = dict(mode='authors', crop_size=(CROP, CROP), base_size=40, scales=(1.0, ))
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
