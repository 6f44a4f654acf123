# As mask_rcnn_r50_fpn_gn_ws_all_eps_l2_2x_coco, 24 epochs with the lr steps
# at 20 and 23.
from mmengine.config import read_base

with read_base():
    from .mask_rcnn_r50_fpn_gn_ws_all_eps_l2_2x_coco import *  # noqa

param_scheduler[1].update(milestones=[20, 23])
