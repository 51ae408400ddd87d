"""PSPNet101 on voc12 converted from the authors' Caffe model, with their MATLAB test protocol.

    python tools/convert_caffe.py pspnet101_VOC2012.caffemodel checkpoints/pspnet101_VOC2012.pth
    mim test mmseg configs/converted/pspnet101_voc12_caffe.py --checkpoint \
        checkpoints/pspnet101_VOC2012.pth

The authors publish 85.41 mIoU on VOC 2012 test (multi-scale; the val number is unpublished)
(single scale with flip).
Input: BGR, mean subtracted (RGB 123.68/116.779/103.939), no std division.
Stage-3 stride in conv3_1_3x3 (style='pytorch').
Deploy models have no auxiliary head.
"""
_base_ = './pspnet50_voc12_caffe.py'
model = dict(backbone=dict(depth=101, style='pytorch'))
