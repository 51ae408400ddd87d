"""The paper's "ResNet50-Baseline": a dilated FCN (paper family).

The PSPNet model without the pyramid: ``PPMHead(pool_scales=())`` keeps the 3x3 conv
(2048 -> 512), BN, ReLU, dropout 0.1 and the classifier on the stage-4 feature, so the
baseline differs from PSPNet by the pooling module only (Table 1). The auxiliary head
(weight 0.4) is kept; set ``model.auxiliary_head=None`` to drop it, or its
``loss_decode.loss_weight`` to change it (Table 2).
"""
_base_ = './paper_pspnet_r50-d8.py'
model = dict(decode_head=dict(pool_scales=()))
