"""PSPNet-R101 on Cityscapes fine, the paper's recipe (paper family): 90k iterations.

Table 7 "fine only" (test set, multi-scale: ``model.test_cfg.scales``). 8 GPUs x 2 images, 713x713
crops, mirror and rescale only, tested with the authors'
protocol (long side 2048 * scale + 1, 713 windows, stride 476, flip).
"""
_base_ = [
    '../_base_/models/paper_pspnet_r50-d8.py',
    '../_base_/datasets/paper_cityscapes-713x713.py', '../_base_/default_runtime.py',
    '../_base_/schedules/paper_schedule_90k.py'
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
