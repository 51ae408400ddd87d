"""PSPNet50 on voc12 converted from the authors' Caffe model, with their MATLAB test protocol.

    python tools/convert_caffe.py your_pspnet50_voc12.caffemodel checkpoints/pspnet50_voc12_caffe.pth
    mim test mmseg configs/converted/pspnet50_voc12_caffe.py --checkpoint \
        checkpoints/pspnet50_voc12_caffe.pth

The authors released no PSPNet50 Caffe model for voc12 (their files: pspnet50_ADE20K,
pspnet101_VOC2012, pspnet101_cityscapes); this config fits a PSPNet50 converted from a Caffe
model trained the same way.
Input: BGR, mean subtracted (RGB 123.68/116.779/103.939), no std division.
Stage-3 stride in conv3_1_3x3 (style='pytorch').
Deploy models have no auxiliary head.
"""
# PASCAL VOC 2012 val at its original resolution: the segmentor resizes (long side) itself.
_base_ = ['../_base_/models/pspnet_caffe.py', '../_base_/default_runtime.py']
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegSample'),  # stops on a bad image/label pair, naming the file
    dict(type='PackSegInputs')
]
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='PSPPascalVOCAugDataset',
        data_root='data/VOCdevkit/VOC2012',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
model = dict(
    backbone=dict(depth=50, style='pytorch'),
    decode_head=dict(num_classes=21))
