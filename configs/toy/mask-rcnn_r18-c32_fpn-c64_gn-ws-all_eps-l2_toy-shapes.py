# The demo: a small GN+WS Mask R-CNN (ResNet-18 with 32 base channels, FPN of
# 64 channels, WS conv + GN in backbone, neck, box and mask heads) trained
# from scratch on CPU with the ε-shifted L2 regularizer (ε = 1e-3,
# λ = weight_decay = 1e-4) on the generated toy-shapes data set.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/toy-shapes_instance.py',
    '../_base_/schedules/toy_400it.py',
    '../_base_/toy_runtime.py',
    '../_base_/eps-l2_plugin.py',
    '../_base_/models/toy_r18-c32_fpn-c64_gn-ws.py',
]
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone={{_base_.toy_backbone}},
    neck={{_base_.toy_neck}},
    rpn_head=dict(
        in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            in_channels=64,
            conv_out_channels=64,
            fc_out_channels=256,
            num_classes=3,
            conv_cfg={{_base_.ws_conv_cfg}},
            norm_cfg={{_base_.gn_norm_cfg}}),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(
            num_convs=2,
            in_channels=64,
            conv_out_channels=64,
            num_classes=3,
            conv_cfg={{_base_.ws_conv_cfg}},
            norm_cfg={{_base_.gn_norm_cfg}})),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=20)))

optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
custom_hooks = [
    dict(type='WeightStatsHook', interval=10),
    dict(type='RNGStateHook'),
]
