# GN + weight-standardized conv settings for mmdet models, inherited by
# path (mmengine resolves `pkg::` only for OpenMMLab's own packages):
#
#   _base_ = ['mmdet::...', 'path/to/mmdet-eps-l2/configs/_base_/gn-ws_convs.py']
#   model = {{_base_.gn_ws_mask_rcnn}}        # or gn_ws_faster_rcnn,
#                                             #    gn_ws_retinanet
#
# A `{{_base_.x}}` value cannot be changed in the same file: a second
# `model = dict(...)` there replaces it (the config check then refuses the
# ε-shift without WS convs).  To set num_classes, depth or anything else in
# one file, write the model dict yourself with the README's recipe
# (`ws = dict(conv_cfg=..., norm_cfg=...)`, then `**ws` in each part).
#
# WSConv2d: per-filter (w - mean) / (unbiased std + 1e-5), mmcv ConvWS's
# convention, so the open-mmlab://jhu/*_gn_ws checkpoints load unchanged.
# These snippets start the backbone from the GN+WS **ResNet-50** ImageNet
# weights; for another backbone take gn_ws_init_resnet101 (or set
# init_cfg yourself): the config check refuses a GN+WS checkpoint whose
# depth differs from model.backbone.depth.
ws_conv_cfg = dict(type='WSConv2d')
gn_norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
gn_ws_init_resnet50 = dict(
    type='Pretrained', checkpoint='open-mmlab://jhu/resnet50_gn_ws')
gn_ws_init_resnet101 = dict(
    type='Pretrained', checkpoint='open-mmlab://jhu/resnet101_gn_ws')
gn_ws_init_resnext101_32x4d = dict(
    type='Pretrained', checkpoint='open-mmlab://jhu/resnext101_32x4d_gn_ws')
gn_ws_backbone = dict(
    conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg, init_cfg=gn_ws_init_resnet50)

# backbone, FPN and the 4-conv box head (mmdet's gn+ws layout)
gn_ws_faster_rcnn = dict(
    backbone=gn_ws_backbone,
    neck=dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            conv_cfg=ws_conv_cfg,
            norm_cfg=gn_norm_cfg)))

# ... plus the FCN mask head
gn_ws_mask_rcnn = dict(
    backbone=gn_ws_backbone,
    neck=gn_ws_faster_rcnn['neck'],
    roi_head=dict(
        bbox_head=gn_ws_faster_rcnn['roi_head']['bbox_head'],
        mask_head=dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg)))

# backbone, FPN and both towers of the RetinaNet head
gn_ws_retinanet = dict(
    backbone=gn_ws_backbone,
    neck=gn_ws_faster_rcnn['neck'],
    bbox_head=dict(conv_cfg=ws_conv_cfg, norm_cfg=gn_norm_cfg))
