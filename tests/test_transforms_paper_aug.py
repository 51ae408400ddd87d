"""RandomGaussianBlur, RandomRescale and MMSegmentation's RandomRotate as the paper uses them."""
import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import mmseg_psp_ext  # noqa: F401  (registers the transforms)
from mmseg.registry import TRANSFORMS


def sample(h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    seg = rng.integers(0, 151, (h, w)).astype(np.uint8)
    seg[0] = 255
    return dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map'], img_shape=(h, w))


def build(cfg):
    init_default_scope('mmseg')
    return TRANSFORMS.build(cfg)


def test_blur_matches_cv2_with_the_sampled_parameters():
    blur = build(dict(type='RandomGaussianBlur', prob=1., kernel_size=(3, 9), sigma=(0.5, 2.)))
    seen = set()
    for seed in range(12):
        np.random.seed(seed)
        data = sample(seed=seed)
        img, seg = data['img'].copy(), data['gt_seg_map'].copy()
        out = blur(data)
        k, s = out['gaussian_blur']['kernel_size'], out['gaussian_blur']['sigma']
        assert k in (3, 5, 7, 9) and 0.5 <= s <= 2.
        np.testing.assert_array_equal(out['img'], cv2.GaussianBlur(img, (k, k), s))
        np.testing.assert_array_equal(out['gt_seg_map'], seg)  # labels untouched
        seen.add(k)
    assert len(seen) > 1  # the kernel size is really drawn


def test_blur_defaults_are_the_authors():
    # semseg: probability 0.5, cv2.GaussianBlur(image, (5, 5), 0)
    blur = build(dict(type='RandomGaussianBlur'))
    applied = 0
    for seed in range(200):
        np.random.seed(seed)
        data = sample(seed=seed)
        img = data['img'].copy()
        out = blur(data)
        if out['gaussian_blur'] is None:
            np.testing.assert_array_equal(out['img'], img)
        else:
            applied += 1
            assert out['gaussian_blur'] == dict(kernel_size=5, sigma=0.)
            np.testing.assert_array_equal(out['img'], cv2.GaussianBlur(img, (5, 5), 0))
    assert 70 < applied < 130


def test_blur_prob_zero_is_identity():
    blur = build(dict(type='RandomGaussianBlur', prob=0.))
    for seed in range(20):
        data = sample(seed=seed)
        img, seg = data['img'].copy(), data['gt_seg_map'].copy()
        out = blur(data)
        assert out['gaussian_blur'] is None
        np.testing.assert_array_equal(out['img'], img)
        np.testing.assert_array_equal(out['gt_seg_map'], seg)


@pytest.mark.parametrize('kwargs', [
    dict(prob=1.5), dict(kernel_size=4), dict(kernel_size=(6, 6)), dict(kernel_size=(9, 3)),
    dict(sigma=-1.), dict(sigma=(1., 2., 3.))])
def test_blur_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match='RandomGaussianBlur'):
        build(dict(type='RandomGaussianBlur', **kwargs))


def test_rescale_scales_by_a_factor_of_the_own_size():
    rescale = build(dict(type='RandomRescale', ratio_range=(0.5, 2.0)))
    ratios = []
    for seed in range(10):
        np.random.seed(seed)
        expected = np.random.uniform(0.5, 2.0)  # the draw the transform makes
        np.random.seed(seed)
        data = sample(h=40, w=60, seed=seed)
        labels = set(np.unique(data['gt_seg_map']))
        out = rescale(data)
        h, w = out['img'].shape[:2]
        # mmcv rounds the target size, then the keep-ratio size: within a pixel
        assert abs(h - 40 * expected) <= 1 and abs(w - 60 * expected) <= 1
        assert out['gt_seg_map'].shape == (h, w)
        assert set(np.unique(out['gt_seg_map'])) <= labels  # nearest: no new label values
        ratios.append(expected)
    assert min(ratios) < 1 < max(ratios)


def test_rescale_rejects_bad_range():
    with pytest.raises(ValueError, match='RandomRescale'):
        build(dict(type='RandomRescale', ratio_range=(2.0, 0.5)))


def test_mmseg_rotate_pads_image_with_mean_and_labels_with_ignore():
    # MMSegmentation's RandomRotate does what the authors' RandRotate does; no own copy.
    bgr_mean = (103.53, 116.28, 123.675)
    rotate = build(dict(type='RandomRotate', prob=1., degree=(10, 10), pad_val=bgr_mean,
                        seg_pad_val=255))
    data = sample(h=41, w=41)
    data['img'][:] = 7
    data['gt_seg_map'][:] = 3
    out = rotate(data)
    corner_img, corner_seg = out['img'][0, 0], out['gt_seg_map'][0, 0]
    np.testing.assert_array_equal(corner_img, np.round(bgr_mean).astype(np.uint8))
    assert corner_seg == 255
    assert out['gt_seg_map'][20, 20] == 3 and set(np.unique(out['gt_seg_map'])) == {3, 255}
