"""Pictures of predictions and evaluations (colour masks, overlays, legends, plots)."""
from .overlay import (ClassShare, as_palette, class_shares, colorize, default_palette,
                      draw_legend, legend_entries, legend_width, overlay,
                      overlay_with_legend)
from .segment import model_classes_palette, predict_label

__all__ = [
    'ClassShare', 'as_palette', 'class_shares', 'colorize', 'default_palette', 'draw_legend',
    'legend_entries', 'legend_width', 'overlay', 'overlay_with_legend', 'model_classes_palette',
    'predict_label'
]
