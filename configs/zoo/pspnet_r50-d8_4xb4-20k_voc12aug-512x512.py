# MMSegmentation's pspnet_r50-d8_4xb4-20k_voc12aug-512x512.py (model-zoo family), unchanged but for the plugin's
# _base_ files: same values, plugin modules whose state-dict keys are MMSegmentation's,
# so the published checkpoint of this name loads strictly.
_base_ = [
    '../_base_/models/pspnet_r50-d8.py',
    '../_base_/datasets/pascal_voc12_aug.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
