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
_base_ = './pspnet_r50-d8.py'
model = dict(
    type='PSPEncoderDecoder',
    backbone=dict(
        stem_channels=128,
        contract_dilation=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/resnet50_deepstem128_imagenet.pth')),
    decode_head=dict(num_classes=150, align_corners=True),
    auxiliary_head=dict(num_classes=150, align_corners=True),
    test_cfg=dict(
        mode='authors',  # the authors' evaluation, see configs/_base_/protocols/
        crop_size=(473, 473),
        stride=(316, 316),
        base_size=512,
        scales=(1.0, ),  # multi-scale: (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
        flip=True,
        long_side='caffe',
        pad='corner'))
