"""Colour masks, overlays, legends and pixel shares (mmseg_psp_ext.visualization)."""
import numpy as np
import pytest

from mmseg_psp_ext.visualization import (class_shares, colorize, draw_legend, legend_entries,
                                         legend_width, overlay, overlay_with_legend)

PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
CLASSES = ['red', 'green', 'blue']


def _label():
    label = np.zeros((4, 6), np.int64)
    label[:, 3:] = 2
    label[0, 0] = 255  # ignored
    return label


def test_colorize_paints_classes_and_ignored_pixels():
    mask = colorize(_label(), PALETTE, ignore_color=(7, 7, 7))
    assert mask.shape == (4, 6, 3) and mask.dtype == np.uint8
    assert tuple(mask[1, 0]) == (255, 0, 0)
    assert tuple(mask[1, 5]) == (0, 0, 255)
    assert tuple(mask[0, 0]) == (7, 7, 7)


def test_overlay_blends_and_keeps_unlabelled_pixels():
    image = np.full((4, 6, 3), 100, np.uint8)
    out = overlay(image, _label(), PALETTE, opacity=0.25)
    assert tuple(out[1, 0]) == (139, 75, 75)  # 0.75*100 + 0.25*255 = 138.75 -> 139
    assert tuple(out[1, 5]) == (75, 75, 139)
    assert tuple(out[0, 0]) == (100, 100, 100)
    assert np.array_equal(overlay(image, _label(), PALETTE, opacity=0.0), image)
    assert np.array_equal(overlay(image, _label(), PALETTE, opacity=1.0)[1:],
                          colorize(_label(), PALETTE)[1:])


def test_overlay_rejects_bad_input():
    image = np.zeros((4, 6, 3), np.uint8)
    with pytest.raises(ValueError, match='differ in size'):
        overlay(image, np.zeros((5, 6), np.int64), PALETTE)
    with pytest.raises(ValueError, match='opacity'):
        overlay(image, _label(), PALETTE, opacity=1.5)
    with pytest.raises(ValueError, match='palette'):
        colorize(_label(), [(1, 2)])


def test_class_shares_counts_present_classes_largest_first():
    shares = class_shares(_label(), CLASSES)
    assert [(s.name, s.pixels) for s in shares] == [('blue', 12), ('red', 11)]
    assert shares[0].share == pytest.approx(12 / 24)


def test_legend_lists_present_classes_and_differs_with_predictions():
    entries = legend_entries(_label(), CLASSES, PALETTE)
    assert entries == [('blue 50.0%', (0, 0, 255)), ('red 45.8%', (255, 0, 0))]
    legend = draw_legend(entries, width=300)
    assert legend.shape == (20, 300, 3)
    assert (legend == (0, 0, 255)).all(axis=2).any()  # the blue swatch is drawn
    image = np.full((4, 6, 3), 100, np.uint8)
    other = np.ones_like(_label())
    # The legend beside the image (the default) and under it.
    full = overlay_with_legend(image, _label(), CLASSES, PALETTE, opacity=0.5)
    assert full.shape == (4, 6 + legend_width(4), 3)
    assert np.array_equal(full[:, :6], overlay(image, _label(), PALETTE, 0.5))
    assert not np.array_equal(full, overlay_with_legend(image, other, CLASSES, PALETTE))
    below = overlay_with_legend(image, _label(), CLASSES, PALETTE, opacity=0.5,
                                position='below')
    assert below.shape == (4 + 2 * 20, 6, 3)  # one column, one row per class
    assert np.array_equal(below[:4], overlay(image, _label(), PALETTE, 0.5))
    assert not np.array_equal(below, overlay_with_legend(image, other, CLASSES, PALETTE,
                                                         position='below'))
    with pytest.raises(ValueError, match='position'):
        overlay_with_legend(image, _label(), CLASSES, PALETTE, position='left')


def test_fixed_height_legend_sums_up_what_does_not_fit():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    entries = [(f'class {i}', c) for i, c in enumerate(colours)]
    legend = draw_legend(entries, width=180, min_column_width=180, height=60)
    assert legend.shape == (60, 180, 3)
    drawn = [(legend == c).all(axis=2).any() for c in colours]
    assert drawn == [True, True, False, False, False]  # 2 rows of swatches, then "+3 more"
    assert (legend[40:] < 128).all(axis=2).any()  # the "+3 more" text in the last row
    assert draw_legend(entries, width=180, min_column_width=180, height=100).shape == \
        (100, 180, 3)
    assert [(draw_legend(entries, width=180, min_column_width=180, height=100) == c)
            .all(axis=2).any() for c in colours] == [True] * 5
