"""configs/pspnet_r50_ade20k.py tested with the PSPNet authors' protocol on ADE20K val.

Long side 512 * scale + 1, 473x473 windows with stride 316 padded with the mean, flip
always on, probabilities averaged (docs/evaluation.md). Training settings are the base's;
this config is for testing a checkpoint of it:

    mim test mmseg configs/eval/pspnet_r50_ade20k_authors.py --checkpoint CKPT
"""
_base_ = ['../pspnet_r50_ade20k.py', '../_base_/protocols/authors_ade20k.py']
model = _base_.authors_model
val_dataloader = dict(dataset=dict(pipeline=_base_.authors_test_pipeline))
test_dataloader = val_dataloader
