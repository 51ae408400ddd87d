# PSPNet as the authors built it (Caffe hszhao/PSPNet and PyTorch hszhao/semseg): deep stem
# 64-64-128, no contracted dilation, align_corners=True, plain BN. Converted checkpoints
# (tools/convert_semseg.py, tools/convert_caffe.py) load strictly into it.
# The converted configs set depth, style, classes, input normalisation and test protocol.
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='DilatedResNet',
        depth=50,
        stem_channels=128,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=False),
    decode_head=dict(
        type='PPMHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        pool_type='avg',
        reduce_dim=True,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
