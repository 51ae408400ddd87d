"""PSPNet-R50 as the paper builds it (paper family), built from the plugin's modules.

Differences from MMSegmentation's ``pspnet_r50-d8.py`` (the zoo family), all from the
authors' releases (see PSPNET_FACTS.md sections 1-3):

- deep stem 64-64-128 (``stem_channels=128``), not 32-32-64;
- no contracted dilation: every block of stage 3 has dilation 2 and of stage 4
  dilation 4, first blocks included (``contract_dilation=False``);
- stride in the 3x3 conv of a bottleneck (``style='pytorch'``), as the authors'
  PyTorch code and their ResNet101 models (their Caffe PSPNet50 for ADE20K has it in
  the first 1x1; that only matters for converted Caffe weights);
- bilinear upsampling with ``align_corners=True`` (Caffe ``Interp``, semseg).

Test: the authors' protocol (``PSPEncoderDecoder``, ``mode='authors'``): long side
512 * scale + 1, 473 windows with stride 316 padded with the mean, flip always on,
probabilities averaged; see docs/evaluation.md.

Normalisation is the authors' PyTorch one (ImageNet mean and std, RGB), which is also
MMSegmentation's. Auxiliary FCN head on stage 3, loss weight 0.4; SyncBN (the runner
falls back to BN on one process).

ImageNet weights: the paper's ResNets are the authors' (deep stem 64-64-128); none are
on MMSegmentation's download list (``open-mmlab://resnet50_v1c`` has the 32-32-64 stem
and will not load). Put a backbone checkpoint in this plugin's key layout (keys of
``DilatedResNet``: ``stem.{0,1,3,4,6,7}``, ``layer1-4``; e.g. the semseg ImageNet
``resnet50_v2.pth`` with ``conv1/bn1/conv2/bn2/conv3/bn3`` renamed to
``stem.0/1/3/4/6/7`` and ``fc`` dropped) at the path below, or override it:
``--cfg-options model.backbone.init_cfg.checkpoint=PATH``.
"""
norm_cfg = dict(type='SyncBN', requires_grad=True)
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
    pretrained=None,
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
        contract_dilation=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50_deepstem128_imagenet.pth')),
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
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
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
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(
        mode='authors',  # the authors' evaluation, see configs/_base_/protocols/
        crop_size=(473, 473),
        stride=(316, 316),
        base_size=512,
        scales=(1.0, ),  # multi-scale: (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
        flip=True,
        long_side='caffe',
        pad='corner'))
