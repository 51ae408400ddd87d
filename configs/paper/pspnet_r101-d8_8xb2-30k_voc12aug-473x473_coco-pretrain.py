"""PSPNet-R101 on VOC 2012 + SBD fine-tuned from MS-COCO pretraining (paper family).

The paper's 85.4 mIoU (VOC 2012 test, multi-scale) starts from a PSPNet-R101 first
trained on MS-COCO. That checkpoint is not public: train one (this model, 21 classes:
COCO's 20 VOC categories + background, everything else background) and put it at the
``load_from`` path below, or pass ``--cfg-options load_from=PATH``. The whole model
is loaded from it, so no ImageNet backbone init is done.
"""
_base_ = './pspnet_r101-d8_8xb2-30k_voc12aug-473x473.py'
load_from = 'checkpoints/pspnet_r101-d8_coco-voc21-pretrain.pth'
model = dict(backbone=dict(init_cfg=None))
