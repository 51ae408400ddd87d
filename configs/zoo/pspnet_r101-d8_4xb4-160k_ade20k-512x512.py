# MMSegmentation's pspnet_r101-d8_4xb4-160k_ade20k-512x512.py (model-zoo family), unchanged but for the plugin's
# _base_ files: same values, plugin modules whose state-dict keys are MMSegmentation's,
# so the published checkpoint of this name loads strictly.
_base_ = './pspnet_r50-d8_4xb4-160k_ade20k-512x512.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
