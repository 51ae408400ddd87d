"""Dilated FCN-R50 on ADE20K, no aux loss, no augmentation: Table 4 "ResNet50-Baseline".

The paper's augmentation (mirror, rescale, rotation, blur) is off; images are only
cropped (padded where smaller) to 473x473, which training in batches needs.
"""
_base_ = './fcn_r50-d8-noaux_8xb2-150k_ade20k-473x473.py'
crop_size = (473, 473)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='CheckSegSample'),  # stops on a bad image/label pair, naming the file
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
