# As mask-rcnn_r50_fpn_gn-ws-all_eps-l2_2x_coco, 24 epochs with the lr
# steps at 20 and 23; ε-shifted L2 with ε = 1e-3.
_base_ = './mask-rcnn_r50_fpn_gn-ws-all_eps-l2_2x_coco.py'
max_epochs = 24
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[20, 23],
        gamma=0.1)
]
optim_wrapper = dict(paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
