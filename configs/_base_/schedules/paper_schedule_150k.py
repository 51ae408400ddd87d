"""The paper's 150k-iteration schedule (ADE20K); optimiser in paper_sgd.py."""
_base_ = './paper_sgd.py'
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.,
        power=0.9,
        begin=0,
        end=150000,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=150000, val_interval=15000)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='MetricsFileLoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=15000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
