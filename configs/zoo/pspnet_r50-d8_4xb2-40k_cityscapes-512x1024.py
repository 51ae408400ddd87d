# MMSegmentation's pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py (model-zoo family), unchanged but for the plugin's
# _base_ files: same values, plugin modules whose state-dict keys are MMSegmentation's,
# so the published checkpoint of this name loads strictly.
_base_ = [
    '../_base_/models/pspnet_r50-d8.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
