# The PSPNet authors' evaluation protocol for PASCAL VOC 2012 (see docs/evaluation.md): long side
# 512 * scale + 1 (the Caffe release's MATLAB scripts), 473x473 windows with stride 316 padded
# at the bottom/right with the mean, flip always on, probabilities averaged.
# The test pipeline does not resize: the segmentor resizes per scale itself.
#
# Use it as the last base of a test config; mmengine forbids the same key in two bases,
# so the names here are prefixed and the child assigns them:
#
#     _base_ = ['../YOUR_VOC12_CONFIG.py', '../_base_/protocols/authors_voc12.py']
#     model = _base_.authors_model
#     val_dataloader = dict(dataset=dict(pipeline=_base_.authors_test_pipeline))
#     test_dataloader = val_dataloader
#
# Multi-scale (the papers' "MS"): scales=(0.5, 0.75, 1.0, 1.25, 1.5, 1.75).
# semseg's variant: long_side='semseg', pad='center', flip_merge='probs'.
authors_test_cfg = dict(
    mode='authors',
    crop_size=(473, 473),
    stride=(316, 316),
    base_size=512,
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
