"""PSPNet-R50-D8 on ADE20K, 512x512 crops, 80k iterations, 4 GPUs x 4 images.

The entry users name. It follows the model-zoo family (MMSegmentation's
``pspnet_r50-d8_4xb4-80k_ade20k-512x512``): same architecture, data pipeline and
schedule, built from this plugin's modules, so that MMSegmentation's published checkpoint
loads strictly and its numbers (41.13 mIoU single scale) are the reference. The paper's
own recipe (473 crops, 150k iterations, rotation and blur) is ``configs/paper/``.

    mim train mmseg configs/pspnet_r50_ade20k.py                       # 1 GPU
    bash tools/dist_train.sh configs/pspnet_r50_ade20k.py 4           # 4 GPUs (torchrun)

ADE20K is read from data/ade/ADEChallengeData2016 (images/ and annotations/).
"""
_base_ = [
    '_base_/models/pspnet_r50-d8.py', '_base_/datasets/ade20k.py',
    '_base_/default_runtime.py', '_base_/schedules/schedule_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
