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

tta_model = dict(type='SegTTAModel')
# Data guards: heads with fewer classes than the training set stop the run before
# iteration 1; the bad samples skipped by a dataset's skip_bad_samples=True are listed at
# the end of the run.
custom_hooks = [dict(type='ClassCountCheckHook'), dict(type='BadSampleReportHook')]
