# PSPNet as the authors' Caffe release (hszhao/PSPNet) runs it, for converted .caffemodel
# files: BGR input with the mean subtracted and no std division, no auxiliary head (deploy
# models), and the MATLAB test protocol (long side base * scale + 1, windows padded with the
# mean at the bottom/right, logits of the flipped pass added). Defaults are ADE20K/VOC's
# 473 crop, 316 stride and base 512; the dataset configs set classes, stride placement and
# Cityscapes' sizes.
_base_ = './pspnet_authors.py'
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[103.939, 116.779, 123.68],
    std=[1.0, 1.0, 1.0],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='PSPEncoderDecoder',
    data_preprocessor=data_preprocessor,
    test_cfg=dict(
        mode='authors',
        crop_size=(473, 473),
        stride=(316, 316),
        base_size=512,
        scales=(1.0, ),
        flip=True,
        long_side='caffe',
        pad='corner'))
