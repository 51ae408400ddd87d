"""Dilated FCN-R50 on ADE20K with aux loss 0.4 (paper family): the "ResNet50-Baseline".

Table 1 baseline, Table 2 "0.4", Table 4 "+aux loss": PSPNet-R50 without the pyramid.
"""
_base_ = './pspnet_r50-d8_8xb2-150k_ade20k-473x473.py'
model = dict(decode_head=dict(pool_scales=()))
