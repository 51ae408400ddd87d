"""Cityscapes fine as the paper trains on it (paper family): 713x713 crops.

Trains on the 2975 fine images (``leftImg8bit/train``, ``gtFine/train``,
``*_gtFine_labelTrainIds.png``: train ids 0..18, 255 ignored), validates on the 500 val
images. Augmentation: random rescale 0.5-2 and random mirror only (the paper keeps
rotation and blur for ADE20K and VOC), random 713x713 crop. Test: the authors'
protocol in the model: long side 2048 + 1, 713 windows with stride 476 (2/3 crop), flip;
multi-scale: ``model.test_cfg.scales``.
"""
dataset_type = 'PSPCityscapesDataset'
data_root = 'data/cityscapes/'
crop_size = (713, 713)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='CheckSegSample'),  # stops on a bad image/label pair, naming the file
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
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
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
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
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
