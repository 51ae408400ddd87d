"""PSPNet50 on ade20k converted from hszhao/semseg, with semseg's test protocol.

    python tools/convert_semseg.py ade20k_pspnet50_train_epoch_*.pth \
        checkpoints/pspnet50_ade20k_semseg.pth
    mim test mmseg configs/converted/pspnet50_ade20k_semseg.py --checkpoint \
        checkpoints/pspnet50_ade20k_semseg.pth

semseg reports 41.89 mIoU (val, single scale with flip).
Input: RGB, ImageNet mean/std in 0-255 scale (semseg tool/test.py).
"""
# ADE20K val at its original resolution: the segmentor resizes (long side) itself.
_base_ = [
    '../_base_/models/pspnet_semseg.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py'
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='CheckSegSample'),  # stops on a bad image/label pair, naming the file
    dict(type='PackSegInputs')
]
val_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(
    backbone=dict(depth=50, style='pytorch'),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
