"""Cityscapes fine + coarse (paper family): the fine base plus the 19998 coarse images.

Trains on the concatenation of the fine train set and ``train_extra``
(``leftImg8bit/train_extra``, ``gtCoarse/train_extra/*_gtCoarse_labelTrainIds.png``),
same augmentation; validation stays on fine val. The paper does not say how it mixed
the two sets; one concatenated set sampled uniformly is the simplest reading.
"""
_base_ = './paper_cityscapes-713x713.py'
fine_train = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
    pipeline={{_base_.train_pipeline}})
coarse_train = dict(
    type={{_base_.dataset_type}},
    data_root={{_base_.data_root}},
    data_prefix=dict(
        img_path='leftImg8bit/train_extra', seg_map_path='gtCoarse/train_extra'),
    seg_map_suffix='_gtCoarse_labelTrainIds.png',
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(
    dataset=dict(
        _delete_=True, type='ConcatDataset', datasets=[fine_train, coarse_train]))
