# GENERATED FILE, written by `python tools/convert_mmdet_bases.py`
# from mmdet 3.3.0's _base_/default_runtime.py
# (same values, registered types as classes); do not edit: run that command again.
from mmdet.engine.hooks.visualization_hook import DetVisualizationHook
from mmdet.visualization.local_visualizer import DetLocalVisualizer
from mmengine.hooks.checkpoint_hook import CheckpointHook
from mmengine.hooks.iter_timer_hook import IterTimerHook
from mmengine.hooks.logger_hook import LoggerHook
from mmengine.hooks.param_scheduler_hook import ParamSchedulerHook
from mmengine.hooks.sampler_seed_hook import DistSamplerSeedHook
from mmengine.runner.log_processor import LogProcessor
from mmengine.visualization.vis_backend import LocalVisBackend

default_scope = 'mmdet'
default_hooks = dict(
    timer=dict(
        type=IterTimerHook),
    logger=dict(
        type=LoggerHook,
        interval=50),
    param_scheduler=dict(
        type=ParamSchedulerHook),
    checkpoint=dict(
        type=CheckpointHook,
        interval=1),
    sampler_seed=dict(
        type=DistSamplerSeedHook),
    visualization=dict(
        type=DetVisualizationHook))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(
        mp_start_method='fork',
        opencv_num_threads=0),
    dist_cfg=dict(
        backend='nccl'))
vis_backends = [
    dict(
        type=LocalVisBackend)
]
visualizer = dict(
    type=DetLocalVisualizer,
    vis_backends=[
        dict(
            type=LocalVisBackend)
    ],
    name='visualizer')
log_processor = dict(
    type=LogProcessor,
    window_size=50,
    by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
