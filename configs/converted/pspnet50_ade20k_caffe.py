"""PSPNet50 on ade20k converted from the authors' Caffe model, with their MATLAB test protocol.

    python tools/convert_caffe.py pspnet50_ADE20K.caffemodel checkpoints/pspnet50_ADE20K.pth
    mim test mmseg configs/converted/pspnet50_ade20k_caffe.py --checkpoint \
        checkpoints/pspnet50_ADE20K.pth

The authors publish 41.68 mIoU / 80.04 pixel acc on ADE20K val (single scale with flip).
Input: BGR, mean subtracted (RGB 123.68/116.779/103.939), no std division.
Stage-3 stride in conv3_1_1x1_reduce (style='caffe').
Deploy models have no auxiliary head.
"""
# ADE20K val at its original resolution: the segmentor resizes (long side) itself.
_base_ = [
    '../_base_/models/pspnet_caffe.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py'
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='CheckSegSample'),  # stops on a bad image/label pair, naming the file
    dict(type='PackSegInputs')
]
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(
    backbone=dict(depth=50, style='caffe'),
    decode_head=dict(num_classes=150))
