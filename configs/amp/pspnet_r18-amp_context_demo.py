"""Demo family with mixed precision: ../demo/pspnet_r18_context_demo.py.

Only the optimizer wrapper differs: bfloat16 autocast on the CPU (MMEngine's
AmpOptimWrapper, fp16, on a GPU).

    mim train mmseg configs/amp/pspnet_r18-amp_context_demo.py --work-dir work_dirs/demo_amp
"""
_base_ = '../demo/pspnet_r18_context_demo.py'
optim_wrapper = dict(type='AnyDeviceAmpOptimWrapper', loss_scale='dynamic')
