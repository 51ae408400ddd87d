"""PSPNet101 on ade20k converted from hszhao/semseg, with semseg's test protocol.

    python tools/convert_semseg.py ade20k_pspnet101_train_epoch_*.pth \
        checkpoints/pspnet101_ade20k_semseg.pth
    mim test mmseg configs/converted/pspnet101_ade20k_semseg.py --checkpoint \
        checkpoints/pspnet101_ade20k_semseg.pth

semseg reports 43.10 mIoU (val, single scale with flip).
Input: RGB, ImageNet mean/std in 0-255 scale (semseg tool/test.py).
"""
# ADE20K val at its original resolution: the segmentor resizes (long side) itself.
_base_ = [
    '../_base_/models/pspnet_authors.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py'
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='PSPEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(depth=101, style='pytorch'),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(
        type='FCNAuxHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    test_cfg=dict(
        mode='authors',
        crop_size=(473, 473),
        stride=(316, 316),
        base_size=512,
        scales=(1.0, ),
        flip=True,
        long_side='semseg',
        pad='center',
        flip_merge='probs'))  # semseg's net_process averages the two softmaxes
