"""MATLAB ``imresize(..., 'bilinear')``: worked examples and MATLAB's own outputs.

Notation in the comments: MATLAB's 1-based output index ``x``, input coordinate
``u = x / s + 0.5 * (1 - 1 / s)``, kernel ``tri(d) = max(0, 1 - |d|)``; when shrinking
(``s < 1``) with antialiasing the kernel is ``s * tri(s * d)`` on ``|d| < 1 / s``.
Taps outside ``1..n`` are mirrored: ``0 -> 1``, ``-1 -> 2``, ``n + 1 -> n``, ...
"""
import numpy as np
import pytest
import torch

from mmseg_psp_ext.models.segmentors.matlab_imresize import (contributions, imresize,
                                                             matlab_round)


def resize(values, dtype, **kwargs):
    return imresize(torch.tensor(values, dtype=dtype), **kwargs).tolist()


def test_matlab_round_goes_half_away_from_zero():
    assert matlab_round([0.5, 1.5, 2.5, -0.5, -2.5]).tolist() == [1, 2, 3, -1, -3]
    # floor(x + 0.5) would give 1 here: 0.49999999999999994 + 0.5 rounds to 1.0
    assert matlab_round(0.49999999999999994) == 0


def test_upscale_by_two_float_and_uint8():
    # s = 2: u = x/2 + 0.25 = 0.75, 1.25, 1.75, 2.25
    # x=1: taps 0 (mirror -> 1) and 1, weights 0.25, 0.75 -> 0
    # x=2: taps 1, 2 weights 0.75, 0.25 -> 2.5; x=3: 0.25, 0.75 -> 7.5
    # x=4: taps 2 and 3 (mirror -> 2) -> 10
    assert resize([[0., 10.]], torch.float64, size=(1, 4)) == [[0., 2.5, 7.5, 10.]]
    # uint8 rounds half away from zero: 2.5 -> 3 (numpy/torch round would give 2)
    assert resize([[0, 10]], torch.uint8, size=(1, 4)) == [[0, 3, 8, 10]]


def test_downscale_by_two_with_and_without_antialiasing():
    # s = 0.5: u = 2x - 0.5 = 1.5, 3.5
    # without antialiasing: taps (1, 2) and (3, 4), weights 0.5 -> 5, 25
    assert resize([[0., 10., 20., 30.]], torch.float64, size=(1, 2),
                  antialias=False) == [[5., 25.]]
    # with: kernel 0.5 * tri(0.5 * d), |d| < 2: distances 1.5, 0.5, -0.5, -1.5 get
    # 0.125, 0.375, 0.375, 0.125. x=1: taps 0 (-> 1), 1, 2, 3:
    # 0.125*0 + 0.375*0 + 0.375*10 + 0.125*20 = 6.25; x=2: taps 2, 3, 4, 5 (-> 4):
    # 0.125*10 + 0.375*20 + 0.375*30 + 0.125*30 = 23.75
    assert resize([[0., 10., 20., 30.]], torch.float64, size=(1, 2)) == [[6.25, 23.75]]
    assert resize([[0, 10, 20, 30]], torch.uint8, size=(1, 2)) == [[6, 24]]
    weights, indices = contributions(4, 2, 0.5, True)
    np.testing.assert_array_equal(weights, [[0.125, 0.375, 0.375, 0.125]] * 2)
    np.testing.assert_array_equal(indices, [[0, 0, 1, 2], [1, 2, 3, 3]])  # 0-based


def test_out_of_range_taps_are_mirrored_not_clamped():
    # s = 0.25 on 0, 10, ..., 70: kernel 0.25 * tri(0.25 * d), |d| < 4; x=1: u = 2.5,
    # taps -1..6 at distances 3.5..-3.5 weigh 1/32, 3/32, 5/32, 7/32, 7/32, 5/32, 3/32,
    # 1/32. Tap -1 mirrors to pixel 2 (10), tap 0 to pixel 1 (0):
    # (1*10 + 3*0 + 5*0 + 7*10 + 7*20 + 5*30 + 3*40 + 1*50) / 32 = 540 / 32 = 16.875
    # (clamping tap -1 to pixel 1 would give 530 / 32 = 16.5625). x=2 by symmetry: 53.125
    row = [[10. * i for i in range(8)]]
    assert resize(row, torch.float64, size=(1, 2)) == [[16.875, 53.125]]


def test_uint8_is_rounded_after_each_dimension():
    # [[1, 0], [0, 0]] to 1x1: each dimension averages its two pixels (weights 0.5).
    # Rows first: [0.5, 0] -> uint8 [1, 0]; then columns: 0.5 -> 1.
    # Rounding only once would give round(0.25) = 0.
    assert resize([[1, 0], [0, 0]], torch.uint8, size=(1, 1)) == [[1]]
    assert resize([[1., 0.], [0., 0.]], torch.float64, size=(1, 1)) == [[0.25]]


def test_dimension_with_smaller_scale_goes_first():
    # [[0, 0], [1, 3]] to 1x3: row scale 0.5 < column scale 1.5, so rows first:
    # [0.5, 1.5] -> [1, 2]; columns (s = 1.5, weights (5/6, 1/6), (1/2, 1/2),
    # (1/6, 5/6)): 1, 1.5 -> 2, 11/6 -> 2. Columns first would give
    # [[0, 0, 0], [1, 2, 8/3 -> 3]] then rows [0.5, 1, 1.5] -> [1, 1, 2].
    assert resize([[0, 0], [1, 3]], torch.uint8, size=(1, 3)) == [[1, 2, 2]]
    # the transpose: now the columns have the smaller scale and go first
    assert resize([[0, 1], [0, 3]], torch.uint8, size=(3, 1)) == [[1], [2], [2]]


def test_size_scale_identity_and_batch_dimensions():
    image = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    assert torch.equal(imresize(image, size=(5, 7)), image)  # MATLAB's identity case
    assert imresize(image, scale=4 / 3).shape == (2, 3, 7, 10)  # ceil(6.67), ceil(9.33)
    out = imresize(image, size=(4, 9))
    assert out.dtype == torch.float32 and out.shape == (2, 3, 4, 9)
    # every channel and batch element is resized alike
    single = imresize(image[1, 2], size=(4, 9))
    torch.testing.assert_close(out[1, 2], single, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match='exactly one of size and scale'):
        imresize(image)
    with pytest.raises(TypeError, match='int64'):
        imresize(image.long(), size=(3, 3))


def test_float_matches_torch_bilinear_when_enlarging():
    # without shrinking (no antialiasing) MATLAB's bilinear and PyTorch's
    # align_corners=False sample the same points, and mirroring a border tap equals
    # PyTorch's clamping for a kernel of width 2
    image = torch.rand(1, 3, 7, 11, dtype=torch.float64)
    ours = imresize(image, size=(16, 23))
    theirs = torch.nn.functional.interpolate(image, size=(16, 23), mode='bilinear',
                                             align_corners=False)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


# MATLAB's own outputs for an 8x10 uint8 image, as the Octave image package quotes them
# in the tests of its imresize.m (image-2.14.0: "reference results from matlab"; Octave
# accepts a difference of 1 because its own algorithm differs).
MATLAB_INPUT = [[116, 227, 153, 69, 146, 194, 59, 130, 139, 106],
                [2, 47, 137, 249, 90, 75, 16, 24, 158, 44],
                [155, 68, 46, 84, 166, 156, 69, 204, 32, 152],
                [71, 221, 137, 230, 210, 153, 192, 115, 30, 118],
                [107, 143, 108, 52, 51, 73, 101, 21, 175, 90],
                [54, 158, 143, 77, 26, 168, 113, 229, 165, 225],
                [9, 47, 133, 135, 130, 207, 236, 43, 19, 73],
                [129, 60, 59, 243, 64, 181, 249, 56, 32, 86]]
MATLAB_OUTPUTS = {
    (0.91, False): [[115, 208, 134, 100, 163, 117, 101, 136, 109, 103],
                    [26, 61, 149, 182, 95, 53, 41, 116, 73, 60],
                    [133, 101, 82, 140, 167, 125, 152, 71, 126, 144],
                    [88, 184, 137, 164, 142, 145, 110, 81, 104, 108],
                    [86, 146, 109, 55, 73, 110, 111, 156, 153, 150],
                    [33, 104, 131, 100, 130, 184, 147, 97, 133, 142],
                    [84, 59, 114, 164, 133, 219, 120, 33, 72, 81],
                    [126, 60, 104, 181, 116, 218, 125, 38, 77, 86]],
    (1.5, True): [[116, 172, 215, 165, 111, 82, 133, 170, 171, 81, 95, 132, 138, 123, 106],
                  [59, 98, 138, 144, 152, 152, 125, 127, 119, 54, 58, 89, 137, 112, 75],
                  [27, 39, 62, 110, 172, 202, 123, 96, 78, 36, 40, 68, 123, 100, 62],
                  [129, 97, 64, 62, 87, 119, 146, 148, 128, 74, 117, 154, 73, 94, 134],
                  [113, 129, 136, 101, 125, 162, 183, 172, 151, 135, 146, 139, 53, 83, 135],
                  [77, 143, 195, 145, 166, 197, 186, 162, 146, 171, 138, 92, 62, 84, 113],
                  [101, 129, 149, 120, 98, 81, 78, 82, 91, 111, 77, 56, 132, 123, 95],
                  [81, 116, 147, 130, 96, 61, 43, 80, 119, 109, 116, 132, 162, 164, 158],
                  [46, 93, 139, 141, 114, 80, 50, 109, 168, 141, 166, 189, 151, 171, 200],
                  [16, 41, 77, 123, 130, 123, 115, 157, 204, 214, 145, 69, 48, 71, 98],
                  [69, 62, 61, 89, 143, 174, 112, 146, 202, 235, 147, 46, 30, 53, 80],
                  [129, 95, 60, 59, 151, 213, 94, 123, 192, 238, 153, 52, 36, 59, 86]],
    (0.5, True): [[108, 136, 125, 89, 107],
                  [111, 132, 143, 114, 99],
                  [106, 110, 106, 127, 136],
                  [75, 124, 154, 142, 75]],
    (4 / 3, True): [[116, 185, 199, 143, 80, 117, 164, 177, 76, 103, 133, 135, 110, 106],
                    [45, 89, 126, 148, 177, 138, 114, 109, 43, 52, 97, 141, 78, 67],
                    [59, 57, 73, 114, 177, 145, 114, 96, 45, 71, 99, 108, 88, 85],
                    [145, 109, 76, 63, 96, 146, 166, 147, 93, 152, 133, 47, 134, 148],
                    [82, 157, 174, 137, 201, 208, 186, 156, 174, 145, 90, 42, 111, 122],
                    [94, 143, 152, 119, 119, 114, 108, 107, 131, 86, 80, 119, 104, 101],
                    [87, 126, 139, 114, 69, 49, 67, 109, 106, 102, 126, 167, 145, 141],
                    [48, 108, 143, 135, 91, 56, 89, 167, 134, 177, 184, 154, 199, 206],
                    [15, 44, 88, 133, 129, 121, 149, 204, 219, 124, 55, 44, 85, 92],
                    [84, 66, 67, 102, 189, 132, 127, 198, 237, 123, 42, 34, 74, 81],
                    [129, 86, 60, 82, 220, 131, 108, 190, 241, 128, 47, 39, 79, 86]],
    (1 / 3, False): [[47, 90, 24, 44], [143, 51, 21, 90], [60, 64, 56, 86]],
    (1 / 3, True): [[115, 131, 101, 102], [114, 117, 120, 121], [91, 147, 116, 76]],
}


@pytest.mark.parametrize('scale,antialias', list(MATLAB_OUTPUTS))
def test_matlab_outputs_exactly(scale, antialias):
    ours = imresize(torch.tensor(MATLAB_INPUT, dtype=torch.uint8), scale=scale,
                    antialias=antialias)
    assert ours.tolist() == MATLAB_OUTPUTS[scale, antialias]


def test_matlab_output_at_half_without_antialiasing():
    # the same source's 0.5 case without antialiasing agrees in 19 of 20 pixels; pixel
    # (1, 3) reads 126 where per-row rounding gives 134.5 -> 135 then 126.5 -> 127 (and
    # rounding once gives 126.25 -> 126). The 10 other forced ties of this case round
    # away from zero, so no single rounding rule gives all 20; the pixel is left as is.
    matlab = [[98, 152, 126, 58, 112], [129, 125, 172, 146, 83],
              [116, 96, 80, 116, 164], [62, 143, 146, 147, 53]]
    ours = imresize(torch.tensor(MATLAB_INPUT, dtype=torch.uint8), scale=0.5,
                    antialias=False).numpy()
    differs = np.argwhere(ours != np.array(matlab))
    assert differs.tolist() == [[0, 2]]
    assert ours[0, 2] == 127
