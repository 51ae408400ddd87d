"""PSPNet-R101 on ADE20K (paper family), Table 3 "ResNet101" (single scale; multi-scale with
``--cfg-options "model.test_cfg.scales=(0.5,0.75,1.0,1.25,1.5,1.75)"``).

Needs ImageNet weights of a deep-stem (64-64-128) ResNet101 in this plugin's layout.
"""
_base_ = './pspnet_r50-d8_8xb2-150k_ade20k-473x473.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='checkpoints/resnet101_deepstem128_imagenet.pth')))
