# Faster R-CNN R-101-FPN GN+WS, 1x, ε = 1e-6 (the paper's ε for
# WS-ResNet-101).
from mmengine.config import read_base

with read_base():
    from .faster_rcnn_r50_fpn_gn_ws_all_eps_l2_1x_coco import *  # noqa

model.update(dict(backbone=dict(depth=101, init_cfg=gn_ws_init_resnet101)))
optim_wrapper.update(dict(paramwise_cfg=dict(eps_l2=dict(eps=1e-6))))
