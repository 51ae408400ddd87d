"""PSPNet50 on voc12 converted from hszhao/semseg, with semseg's test protocol.

    python tools/convert_semseg.py voc12_pspnet50_train_epoch_*.pth \
        checkpoints/pspnet50_voc12_semseg.pth
    mim test mmseg configs/converted/pspnet50_voc12_semseg.py --checkpoint \
        checkpoints/pspnet50_voc12_semseg.pth

semseg reports 77.05 mIoU (val, single scale with flip).
Input: RGB, ImageNet mean/std in 0-255 scale (semseg tool/test.py).
"""
# PASCAL VOC 2012 val at its original resolution: the segmentor resizes (long side) itself.
_base_ = ['../_base_/models/pspnet_semseg.py', '../_base_/default_runtime.py']
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
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
