"""PSPNet101 on cityscapes converted from the authors' Caffe model, with their MATLAB test protocol.

    python tools/convert_caffe.py pspnet101_cityscapes.caffemodel \
        checkpoints/pspnet101_cityscapes.pth
    mim test mmseg configs/converted/pspnet101_cityscapes_caffe.py --checkpoint \
        checkpoints/pspnet101_cityscapes.pth

The authors publish 79.70 mIoU on Cityscapes val (single scale with flip).
Input: BGR, mean subtracted (RGB 123.68/116.779/103.939), no std division.
Stage-3 stride in conv3_1_3x3 (style='pytorch').
Deploy models have no auxiliary head.
"""
_base_ = './pspnet50_cityscapes_caffe.py'
model = dict(backbone=dict(depth=101, style='pytorch'))
