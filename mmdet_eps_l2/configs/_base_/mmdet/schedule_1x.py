# GENERATED FILE, written by `python tools/convert_mmdet_bases.py`
# from mmdet 3.3.0's _base_/schedules/schedule_1x.py
# (same values, registered types as classes); do not edit: run that command again.
from mmengine.optim.optimizer.optimizer_wrapper import OptimWrapper
from mmengine.optim.scheduler.lr_scheduler import LinearLR, MultiStepLR
from mmengine.runner.loops import EpochBasedTrainLoop, TestLoop, ValLoop
from torch.optim.sgd import SGD

train_cfg = dict(
    type=EpochBasedTrainLoop,
    max_epochs=12,
    val_interval=1)
val_cfg = dict(
    type=ValLoop)
test_cfg = dict(
    type=TestLoop)
param_scheduler = [
    dict(
        type=LinearLR,
        start_factor=0.001,
        by_epoch=False,
        begin=0,
        end=500),
    dict(
        type=MultiStepLR,
        begin=0,
        end=12,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
optim_wrapper = dict(
    type=OptimWrapper,
    optimizer=dict(
        type=SGD,
        lr=0.02,
        momentum=0.9,
        weight_decay=0.0001))
auto_scale_lr = dict(
    enable=False,
    base_batch_size=16)
