"""PSPNet101 on cityscapes converted from hszhao/semseg, with semseg's test protocol.

    python tools/convert_semseg.py cityscapes_pspnet101_train_epoch_*.pth \
        checkpoints/pspnet101_cityscapes_semseg.pth
    mim test mmseg configs/converted/pspnet101_cityscapes_semseg.py --checkpoint \
        checkpoints/pspnet101_cityscapes_semseg.pth

semseg reports 78.63 mIoU (val, single scale with flip).
Input: RGB, ImageNet mean/std in 0-255 scale (semseg tool/test.py).
"""
_base_ = './pspnet50_cityscapes_semseg.py'
model = dict(backbone=dict(depth=101, style='pytorch'))
