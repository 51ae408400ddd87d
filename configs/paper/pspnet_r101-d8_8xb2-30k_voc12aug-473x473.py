"""PSPNet-R101 on PASCAL VOC 2012 + SBD, the paper's recipe (paper family): 30k.

The paper's VOC 2012 test result without MS-COCO pretraining (82.6 mIoU, ResNet101,
multi-scale: test with
``--cfg-options "model.test_cfg.scales=(0.5,0.75,1.0,1.25,1.5,1.75)"``).
8 GPUs x 2 images, 473x473 crops, rotation and blur.
"""
_base_ = [
    '../_base_/models/paper_pspnet_r50-d8.py',
    '../_base_/datasets/paper_voc12aug-473x473.py', '../_base_/default_runtime.py',
    '../_base_/schedules/paper_schedule_30k.py'
]
crop_size = (473, 473)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='checkpoints/resnet101_deepstem128_imagenet.pth')),
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
