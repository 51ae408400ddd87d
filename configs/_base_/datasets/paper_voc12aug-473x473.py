"""PASCAL VOC 2012 + SBD as the paper trains on it (paper family): 473x473 crops.

Trains on the 10582 images of ``ImageSets/Segmentation/train_aug.txt`` (VOC train and
SBD train+val, VOC val removed), labels from ``SegmentationClassAug`` (one PNG per listed
image, class ids 0..20, 255 ignored: VOC's object borders stay ignored); validates on
VOC val (1449 images, ``SegmentationClass``). Augmentation as ADE20K: rescale 0.5-2,
rotation +-10 degrees, Gaussian blur, mirror, random crop. Test: the authors' protocol
in the model: long side 512 + 1, 473 windows with stride 316, flip; multi-scale: ``model.test_cfg.scales``.
"""
dataset_type = 'PSPPascalVOCAugDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (473, 473)
bgr_mean = (103.53, 116.28, 123.675)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
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
    dict(type='LoadAnnotations'),
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
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/train_aug.txt',
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
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
