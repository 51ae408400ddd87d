"""Dilated FCN-R50 on ADE20K, auxiliary loss weight 0.9 (Table 2)."""
_base_ = './fcn_r50-d8_8xb2-150k_ade20k-473x473.py'
model = dict(auxiliary_head=dict(loss_decode=dict(loss_weight=0.9)))
