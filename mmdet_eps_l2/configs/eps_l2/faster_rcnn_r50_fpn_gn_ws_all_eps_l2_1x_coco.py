# Faster R-CNN R-50-FPN, GN + WS convs in backbone, FPN and the 4-conv box
# head, 1x, ε-shifted L2 (ε = 1e-3, λ = 1e-4).
from mmengine.config import read_base

with read_base():
    from .._base_.eps_l2_plugin import *  # noqa: F401,F403
    from .._base_.gn_ws_convs import *  # noqa: F401,F403
    from .._base_.mmdet.coco_detection import *  # noqa: F401,F403
    from .._base_.mmdet.default_runtime import *  # noqa: F401,F403
    from .._base_.mmdet.faster_rcnn_r50_fpn import *  # noqa: F401,F403
    from .._base_.mmdet.schedule_1x import *  # noqa: F401,F403

model.update(gn_ws_faster_rcnn)
optim_wrapper.update(eps_l2_optim_wrapper)
custom_hooks = [*eps_l2_hooks]
