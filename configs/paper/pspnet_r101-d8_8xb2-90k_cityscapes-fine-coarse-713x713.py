"""PSPNet-R101 on Cityscapes fine + coarse (paper family): Table 7 "fine + coarse".

The fine-only recipe (``pspnet_r101-d8_8xb2-90k_cityscapes-713x713.py``) trained on fine train and the
coarse train_extra set together (the paper gives no separate schedule; 90k kept).
"""
_base_ = [
    '../_base_/models/paper_pspnet_r50-d8.py',
    '../_base_/datasets/paper_cityscapes-fine-coarse-713x713.py',
    '../_base_/default_runtime.py', '../_base_/schedules/paper_schedule_90k.py'
]
crop_size = (713, 713)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        depth=101,
        init_cfg=dict(checkpoint='checkpoints/resnet101_deepstem128_imagenet.pth')),
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    test_cfg=dict(
        mode='authors',  # the authors' evaluation, see configs/_base_/protocols/
        crop_size=(713, 713),
        stride=(476, 476),
        base_size=2048,
        scales=(1.0, ),  # multi-scale: (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
        flip=True,
        long_side='caffe',
        pad='corner'))
