"""PSPNet101 on ade20k converted from hszhao/semseg, with semseg's test protocol.

    python tools/convert_semseg.py ade20k_pspnet101_train_epoch_*.pth \
        checkpoints/pspnet101_ade20k_semseg.pth
    mim test mmseg configs/converted/pspnet101_ade20k_semseg.py --checkpoint \
        checkpoints/pspnet101_ade20k_semseg.pth

semseg reports 43.10 mIoU (val, single scale with flip).
Input: RGB, ImageNet mean/std in 0-255 scale (semseg tool/test.py).
"""
_base_ = './pspnet50_ade20k_semseg.py'
model = dict(backbone=dict(depth=101, style='pytorch'))
