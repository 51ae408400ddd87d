# The PSPNet authors' evaluation protocol for Cityscapes, labels in trainIds (see
# docs/evaluation.md): long side
# 2048 * scale + 1 (the Caffe release's MATLAB scripts), 713x713 windows with stride 476 padded
# at the bottom/right with the mean, flip always on, probabilities averaged.
# The test pipeline does not resize: the segmentor resizes per scale itself.
#
# Use it as the last base of a test config; mmengine forbids the same key in two bases,
# so the names here are prefixed and the child assigns them:
#
#     _base_ = ['../YOUR_CITYSCAPES_CONFIG.py', '../_base_/protocols/authors_cityscapes.py']
#     model = _base_.authors_model
#     val_dataloader = dict(dataset=dict(pipeline=_base_.authors_test_pipeline))
#     test_dataloader = val_dataloader
#
# Multi-scale (the papers' "MS"): scales=(0.5, 0.75, 1.0, 1.25, 1.5, 1.75).
# semseg's variant: long_side='semseg', pad='center', flip_merge='probs'.
authors_test_cfg = dict(
    mode='authors',
    crop_size=(713, 713),
    stride=(476, 476),
    base_size=2048,
    scales=(1.0, ),
    flip=True,
    long_side='caffe',
    pad='corner')
authors_model = dict(type='PSPEncoderDecoder', test_cfg=authors_test_cfg)
authors_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='CheckSegSample'),  # stops on a bad image/label pair, naming the file
    dict(type='PackSegInputs')
]
