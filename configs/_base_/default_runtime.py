# Runtime shared by every config. custom_imports registers the plugin's modules.
custom_imports = dict(imports=['mmseg_psp_ext'], allow_failed_imports=False)
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# Guards. FiniteLossHook: a NaN/inf loss stops the run naming the iteration, the loss
# terms and the last good checkpoint, and no checkpoint with non-finite weights is written
# (action='skip' skips such steps instead). ClassCountCheckHook: heads with fewer classes
# than the training set stop the run before iteration 1. BadSampleReportHook: the samples
# skipped by a dataset's skip_bad_samples=True are listed at the end of the run.
# CheckpointFitHook: training from a load_from with another class count re-initialises the
# two conv_seg classifiers in one log line; any other mismatch, or a test checkpoint that
# does not fit, stops naming the keys. (The schedules' AtomicCheckpointHook writes
# checkpoints atomically.)
custom_hooks = [
    dict(type='FiniteLossHook', action='stop'),
    dict(type='ClassCountCheckHook'),
    dict(type='BadSampleReportHook'),
    dict(type='CheckpointFitHook'),
]

tta_model = dict(type='SegTTAModel')
