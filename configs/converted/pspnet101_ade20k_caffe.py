"""PSPNet101 on ade20k converted from the authors' Caffe model, with their MATLAB test protocol.

    python tools/convert_caffe.py your_pspnet101_ade20k.caffemodel checkpoints/pspnet101_ade20k_caffe.pth
    mim test mmseg configs/converted/pspnet101_ade20k_caffe.py --checkpoint \
        checkpoints/pspnet101_ade20k_caffe.pth

The authors released no PSPNet101 Caffe model for ade20k (their files: pspnet50_ADE20K,
pspnet101_VOC2012, pspnet101_cityscapes); this config fits a PSPNet101 converted from a
Caffe model trained the same way.
Input: BGR, mean subtracted (RGB 123.68/116.779/103.939), no std division.
Stage-3 stride in conv3_1_3x3 (style='pytorch').
Deploy models have no auxiliary head.
"""
_base_ = './pspnet50_ade20k_caffe.py'
model = dict(backbone=dict(depth=101, style='pytorch'))
