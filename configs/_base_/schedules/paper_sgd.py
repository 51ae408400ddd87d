"""The paper's optimiser (paper family); the paper_schedule_*.py files add the length.

SGD, base lr 0.01, momentum 0.9, weight decay 1e-4, heads at 10x the base lr (the
prototxts' lr_mult), poly decay ``lr * (1 - iter / max_iter) ** 0.9`` to 0.

Batch: the paper trains with 16 images per step; the configs say 8 GPUs x 2 images.
On fewer GPUs either
- keep 16 images per step with gradient accumulation: 4 GPUs x 2 images with
  ``optim_wrapper.accumulative_counts=2`` (then double ``train_cfg.max_iters`` and the
  PolyLR ``end``: MMEngine counts micro-batches as iterations); BN statistics then
  come from 8 images, not 16;
- or train with a smaller batch and scale the lr linearly with MMEngine's
  ``auto_scale_lr``: ``--cfg-options auto_scale_lr.enable=True`` sets
  lr = 0.01 * (GPUs x images per GPU) / 16.
"""
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.),
        'auxiliary_head': dict(lr_mult=10.)
    }))
auto_scale_lr = dict(enable=False, base_batch_size=16)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
