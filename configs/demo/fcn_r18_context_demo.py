"""The dilated-FCN baseline of the demo: configs/demo/pspnet_r18_context_demo.py without
pyramid pooling (``pool_scales=()``: 3x3 conv, dropout and classifier on the backbone).

    mim train mmseg configs/demo/fcn_r18_context_demo.py --work-dir work_dirs/demo_fcn
"""
_base_ = ['./_base_/r18_d8_context_demo.py']
model = dict(decode_head=dict(pool_scales=()))
