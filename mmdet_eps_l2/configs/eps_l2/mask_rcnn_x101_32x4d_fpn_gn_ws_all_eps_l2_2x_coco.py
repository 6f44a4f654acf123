# Mask R-CNN X-101-32x4d-FPN GN+WS (grouped WS convs), 2x, ε = 1e-3.
from mmdet.models.backbones.resnext import ResNeXt
from mmengine.config import read_base

with read_base():
    from .mask_rcnn_r50_fpn_gn_ws_all_eps_l2_2x_coco import *  # noqa

model.update(
    dict(
        backbone=dict(
            type=ResNeXt,
            depth=101,
            groups=32,
            base_width=4,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=1,
            style='pytorch',
            init_cfg=gn_ws_init_resnext101_32x4d)))
