"""PSPNet50 on cityscapes converted from hszhao/semseg, with semseg's test protocol.

    python tools/convert_semseg.py cityscapes_pspnet50_train_epoch_*.pth \
        checkpoints/pspnet50_cityscapes_semseg.pth
    mim test mmseg configs/converted/pspnet50_cityscapes_semseg.py --checkpoint \
        checkpoints/pspnet50_cityscapes_semseg.pth

semseg reports 77.30 mIoU (val, single scale with flip).
Input: RGB, ImageNet mean/std in 0-255 scale (semseg tool/test.py).
"""
# Cityscapes val at full resolution (2048x1024): the segmentor resizes (long side) itself.
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
        type='PSPCityscapesDataset',
        data_root='data/cityscapes',
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
model = dict(
    backbone=dict(depth=50, style='pytorch'),
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    test_cfg=dict(crop_size=(713, 713), stride=(476, 476), base_size=2048))
