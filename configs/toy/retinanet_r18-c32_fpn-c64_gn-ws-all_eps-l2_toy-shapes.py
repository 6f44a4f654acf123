# A small GN+WS RetinaNet (ResNet-18 with 32 base channels, FPN of 64
# channels, WS conv + GN in backbone, neck and both head towers) with the
# ε-shifted L2 regularizer (ε = 1e-3) on the toy-shapes data set.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/toy-shapes_instance.py',
    '../_base_/schedules/toy_400it.py',
    '../_base_/toy_runtime.py',
    '../_base_/eps-l2_plugin.py',
    '../_base_/models/toy_r18-c32_fpn-c64_gn-ws.py',
]
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone={{_base_.toy_backbone}},
    neck={{_base_.toy_neck_from_c3}},
    bbox_head=dict(
        num_classes=3,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        conv_cfg={{_base_.ws_conv_cfg}},
        norm_cfg={{_base_.gn_norm_cfg}},
        anchor_generator=dict(octave_base_scale=2)),
    test_cfg=dict(nms_pre=300, max_per_img=20))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale={{_base_.image_size}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = dict(metric='bbox')
test_evaluator = val_evaluator
optim_wrapper = dict(
    optimizer=dict(lr=0.01),
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
custom_hooks = [
    dict(type='WeightStatsHook', interval=10),
    dict(type='RNGStateHook'),
]
