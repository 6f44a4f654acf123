# A small GN+WS RetinaNet (as its namesake in configs/toy/): ResNet-18/32,
# FPN 64 from C3, WS conv + GN in backbone, neck and both head towers,
# ε-shifted L2 (ε = 1e-3) on the toy-shapes data (boxes only).
from mmcv.transforms.loading import LoadImageFromFile
from mmdet.datasets.transforms.formatting import PackDetInputs
from mmdet.datasets.transforms.loading import LoadAnnotations
from mmdet.datasets.transforms.transforms import RandomFlip, Resize
from mmengine.config import read_base

from mmdet_eps_l2.hooks.rng_state_hook import RNGStateHook
from mmdet_eps_l2.hooks.weight_stats_hook import WeightStatsHook

with read_base():
    from .._base_.datasets.toy_shapes_instance import *  # noqa: F401,F403
    from .._base_.eps_l2_plugin import *  # noqa: F401,F403
    from .._base_.mmdet.retinanet_r50_fpn import *  # noqa: F401,F403
    from .._base_.models.toy_r18_c32_fpn_c64_gn_ws import *  # noqa
    from .._base_.schedules.toy_400it import *  # noqa: F401,F403
    from .._base_.toy_runtime import *  # noqa: F401,F403

model.update(
    dict(
        data_preprocessor=dict(pad_size_divisor=32),
        backbone=toy_backbone,
        neck=toy_neck_from_c3,
        bbox_head=dict(
            num_classes=3,
            in_channels=64,
            feat_channels=64,
            stacked_convs=2,
            conv_cfg=ws_conv_cfg,
            norm_cfg=gn_norm_cfg,
            anchor_generator=dict(octave_base_scale=2)),
        test_cfg=dict(nms_pre=300, max_per_img=20)))
train_pipeline = [
    dict(type=LoadImageFromFile),
    dict(type=LoadAnnotations, with_bbox=True),
    dict(type=Resize, scale=image_size, keep_ratio=True),
    dict(type=RandomFlip, prob=0.5),
    dict(type=PackDetInputs),
]
train_dataloader.dataset.update(pipeline=train_pipeline)
val_evaluator.update(metric='bbox')
test_evaluator = val_evaluator
optim_wrapper.update(dict(optimizer=dict(lr=0.01)))
optim_wrapper.update(eps_l2_optim_wrapper)
custom_hooks = [
    dict(type=WeightStatsHook, interval=10),
    dict(type=RNGStateHook),
]
