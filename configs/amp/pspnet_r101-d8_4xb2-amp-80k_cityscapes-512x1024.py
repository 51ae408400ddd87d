"""Zoo family with mixed precision: MMSegmentation's pspnet_r101-d8_4xb2-amp-80k_cityscapes-512x1024.

Same as ../zoo/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py (and MMSegmentation's AMP
config: static loss scale 512) except the optimizer wrapper: AnyDeviceAmpOptimWrapper is
MMEngine's AmpOptimWrapper (fp16) on a GPU and bfloat16 autocast on the CPU, where
MMEngine's own wrapper refuses to start. Any other config: ``tools/train.py CONFIG --amp``.
"""
_base_ = '../zoo/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py'
optim_wrapper = dict(type='AnyDeviceAmpOptimWrapper', loss_scale=512.)
