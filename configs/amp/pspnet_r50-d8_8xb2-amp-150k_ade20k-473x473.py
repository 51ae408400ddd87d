"""Paper family with mixed precision: ../paper/pspnet_r50-d8_8xb2-150k_ade20k-473x473.py.

Only the optimizer wrapper differs: AnyDeviceAmpOptimWrapper is MMEngine's
AmpOptimWrapper (fp16, dynamic loss scale) on a GPU and bfloat16 autocast on the CPU.
Any other config: ``tools/train.py CONFIG --amp``.
"""
_base_ = '../paper/pspnet_r50-d8_8xb2-150k_ade20k-473x473.py'
optim_wrapper = dict(type='AnyDeviceAmpOptimWrapper', loss_scale='dynamic')
