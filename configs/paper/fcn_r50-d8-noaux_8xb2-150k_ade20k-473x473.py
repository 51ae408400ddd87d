"""Dilated FCN-R50 on ADE20K without the auxiliary loss: Table 2 "none", Table 4 "+DA"."""
_base_ = './fcn_r50-d8_8xb2-150k_ade20k-473x473.py'
model = dict(auxiliary_head=None)
