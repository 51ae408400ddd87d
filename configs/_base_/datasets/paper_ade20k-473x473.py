"""ADE20K as the paper trains on it (paper family): 473x473 crops, 2 images per GPU.

Augmentation (paper section 5.1, the authors' PyTorch code for the details): random
rescale 0.5-2 of the image's own size, random rotation -10..10 degrees (probability 0.5,
image padded with the mean, labels with 255), random Gaussian blur (probability 0.5, 5x5
kernel), random mirror, random 473x473 crop; crops smaller than 473 are padded by the
data preprocessor (0 after normalisation = the mean, labels 255). No photometric
distortion. Label 0 ("other") is ignored: 1..150 become 0..149, 0 becomes 255.

Test: the authors' protocol in the model (``PSPEncoderDecoder``): long side 512 + 1,
473 windows with stride 316 (2/3 of the crop), flip; multi-scale: ``model.test_cfg.scales``.
"""
dataset_type = 'PSPADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016'
crop_size = (473, 473)
# Mean of the data preprocessor in the loaded (BGR) channel order: rotation padding.
bgr_mean = (103.53, 116.28, 123.675)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='CheckSegSample'),  # stops on a bad image/label pair, naming the file
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomRotate', prob=0.5, degree=10, pad_val=bgr_mean, seg_pad_val=255),
    dict(type='RandomGaussianBlur', prob=0.5, kernel_size=5, sigma=0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs')
]
test_pipeline = [  # no Resize: the authors' protocol resizes per scale in the model
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='CheckSegSample'),  # stops on a bad image/label pair, naming the file
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='images/training', seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
