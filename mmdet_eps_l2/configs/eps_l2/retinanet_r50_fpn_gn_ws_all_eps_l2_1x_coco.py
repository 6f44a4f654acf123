# RetinaNet R-50-FPN, GN + WS convs in backbone, FPN and both head towers,
# 1x, ε-shifted L2 (ε = 1e-3, λ = 1e-4).
from mmengine.config import read_base

with read_base():
    from .._base_.eps_l2_plugin import *  # noqa: F401,F403
    from .._base_.gn_ws_convs import *  # noqa: F401,F403
    from .._base_.mmdet.coco_detection import *  # noqa: F401,F403
    from .._base_.mmdet.default_runtime import *  # noqa: F401,F403
    from .._base_.mmdet.retinanet_r50_fpn import *  # noqa: F401,F403
    from .._base_.mmdet.retinanet_tta import *  # noqa: F401,F403
    from .._base_.mmdet.schedule_1x import *  # noqa: F401,F403

model.update(gn_ws_retinanet)
optim_wrapper.update(dict(optimizer=dict(lr=0.01)))  # mmdet's RetinaNet lr
optim_wrapper.update(eps_l2_optim_wrapper)
custom_hooks = [*eps_l2_hooks]
