"""PSPNet-R50 on ADE20K, the paper's recipe (paper family): 8 GPUs x 2 images, 150k.

Table 1 "+B1236+AVE+DR", Table 3 "ResNet50" (41.68 single scale, 42.78 multi-scale with
``--cfg-options "model.test_cfg.scales=(0.5,0.75,1.0,1.25,1.5,1.75)"``),
Table 4 "+PSP": one experiment. Every other ADE20K row of configs/paper inherits it.
The backbone wants ImageNet weights of the deep-stem ResNet50, see
``_base_/models/paper_pspnet_r50-d8.py``; batch 16 on fewer GPUs: ``docs/configs.md``.
"""
_base_ = [
    '../_base_/models/paper_pspnet_r50-d8.py',
    '../_base_/datasets/paper_ade20k-473x473.py', '../_base_/default_runtime.py',
    '../_base_/schedules/paper_schedule_150k.py'
]
crop_size = (473, 473)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
