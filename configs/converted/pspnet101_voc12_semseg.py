"""PSPNet101 on voc12 converted from hszhao/semseg, with semseg's test protocol.

    python tools/convert_semseg.py voc12_pspnet101_train_epoch_*.pth \
        checkpoints/pspnet101_voc12_semseg.pth
    mim test mmseg configs/converted/pspnet101_voc12_semseg.py --checkpoint \
        checkpoints/pspnet101_voc12_semseg.pth

semseg reports 79.07 mIoU (val, single scale with flip).
Input: RGB, ImageNet mean/std in 0-255 scale (semseg tool/test.py).
"""
_base_ = './pspnet50_voc12_semseg.py'
model = dict(backbone=dict(depth=101, style='pytorch'))
