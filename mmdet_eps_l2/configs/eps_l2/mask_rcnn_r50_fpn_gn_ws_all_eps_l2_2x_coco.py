# Mask R-CNN R-50-FPN, GN + WS convs in backbone, FPN, box and mask heads,
# 2x, ε-shifted L2 (ε = 1e-3, λ = 1e-4); as its namesake in configs/eps_l2/.
from mmengine.config import read_base
from mmengine.optim.scheduler.lr_scheduler import LinearLR, MultiStepLR

with read_base():
    from .._base_.eps_l2_plugin import *  # noqa: F401,F403
    from .._base_.gn_ws_convs import *  # noqa: F401,F403
    from .._base_.mmdet.coco_instance import *  # noqa: F401,F403
    from .._base_.mmdet.default_runtime import *  # noqa: F401,F403
    from .._base_.mmdet.mask_rcnn_r50_fpn import *  # noqa: F401,F403
    from .._base_.mmdet.schedule_1x import *  # noqa: F401,F403

model.update(gn_ws_mask_rcnn)
max_epochs = 24
train_cfg.update(max_epochs=max_epochs)
param_scheduler = [
    dict(type=LinearLR, start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type=MultiStepLR,
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[16, 22],
        gamma=0.1)
]
optim_wrapper.update(eps_l2_optim_wrapper)
custom_hooks = [*eps_l2_hooks]
