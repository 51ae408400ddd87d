# PSPNet as hszhao/semseg trains and tests it, for its converted checkpoints: RGB input
# with ImageNet mean/std (0-255 scale, semseg tool/test.py), the auxiliary FCN head (kept
# in semseg checkpoints) and semseg's test protocol (long side round(scale * base), windows
# padded centred, softmaxes of the flipped passes averaged). Defaults are ADE20K/VOC's
# 473 crop, 316 stride and base 512; the dataset configs set classes and Cityscapes' sizes.
_base_ = './pspnet_authors.py'
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='PSPEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(style='pytorch'),
    auxiliary_head=dict(
        type='FCNAuxHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg={{_base_.norm_cfg}},
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
