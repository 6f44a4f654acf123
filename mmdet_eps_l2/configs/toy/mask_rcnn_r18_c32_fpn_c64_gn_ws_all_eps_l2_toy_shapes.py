# The demo detector (as its namesake in configs/toy/): a small GN+WS Mask
# R-CNN (ResNet-18/32, FPN 64, WS conv + GN everywhere) with the ε-shifted
# L2 regularizer (ε = 1e-3) on the toy-shapes data.
from mmdet.models.roi_heads.bbox_heads.convfc_bbox_head import \
    Shared4Conv1FCBBoxHead
from mmengine.config import read_base

from mmdet_eps_l2.hooks.rng_state_hook import RNGStateHook
from mmdet_eps_l2.hooks.weight_stats_hook import WeightStatsHook

with read_base():
    from .._base_.datasets.toy_shapes_instance import *  # noqa: F401,F403
    from .._base_.eps_l2_plugin import *  # noqa: F401,F403
    from .._base_.mmdet.mask_rcnn_r50_fpn import *  # noqa: F401,F403
    from .._base_.models.toy_r18_c32_fpn_c64_gn_ws import *  # noqa
    from .._base_.schedules.toy_400it import *  # noqa: F401,F403
    from .._base_.toy_runtime import *  # noqa: F401,F403

model.update(
    dict(
        data_preprocessor=dict(pad_size_divisor=32),
        backbone=toy_backbone,
        neck=toy_neck,
        rpn_head=dict(
            in_channels=64, feat_channels=64,
            anchor_generator=dict(scales=[4])),
        roi_head=dict(
            bbox_roi_extractor=dict(out_channels=64),
            bbox_head=dict(
                type=Shared4Conv1FCBBoxHead,
                in_channels=64,
                conv_out_channels=64,
                fc_out_channels=256,
                num_classes=3,
                conv_cfg=ws_conv_cfg,
                norm_cfg=gn_norm_cfg),
            mask_roi_extractor=dict(out_channels=64),
            mask_head=dict(
                num_convs=2,
                in_channels=64,
                conv_out_channels=64,
                num_classes=3,
                conv_cfg=ws_conv_cfg,
                norm_cfg=gn_norm_cfg)),
        train_cfg=dict(
            rpn_proposal=dict(nms_pre=500, max_per_img=200),
            rcnn=dict(sampler=dict(num=128))),
        test_cfg=dict(
            rpn=dict(nms_pre=300, max_per_img=100),
            rcnn=dict(max_per_img=20))))
optim_wrapper.update(eps_l2_optim_wrapper)
custom_hooks = [
    dict(type=WeightStatsHook, interval=10),
    dict(type=RNGStateHook),
]
