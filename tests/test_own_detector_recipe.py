"""The README's one-file recipe: any mmdet Mask R-CNN, Faster R-CNN or
RetinaNet config, GN+WS with the ε-shift, num_classes and depth set in the
same file; and the recipe's failure modes refused before a work dir."""
import contextlib
import logging
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from helpers.toy import ROOT, TOOLS
from mmdet_eps_l2.models import WSConv2d
from mmdet_eps_l2.optim import format_group_table
from mmdet_eps_l2.checks import ConfigCheckError, check_config

#: end to end (training, fresh interpreters, full-size detectors)
pytestmark = pytest.mark.slow

PLUGIN = osp.join(ROOT, 'configs', '_base_', 'eps-l2_plugin.py')
GN_WS = osp.join(ROOT, 'configs', '_base_', 'gn-ws_convs.py')
BASES = {
    'mask': 'mmdet::mask_rcnn/mask-rcnn_r{depth}_fpn_1x_coco.py',
    'faster': 'mmdet::faster_rcnn/faster-rcnn_r{depth}_fpn_1x_coco.py',
    'retina': 'mmdet::retinanet/retinanet_r{depth}_fpn_1x_coco.py',
}
HEADS = {
    'mask': '''    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       num_classes=num_classes, **ws),
        mask_head=dict(num_classes=num_classes, **ws)))''',
    'faster': '''    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       num_classes=num_classes, **ws)))''',
    'retina': '''    bbox_head=dict(num_classes=num_classes, **ws))''',
}


@contextlib.contextmanager
def logged():
    """The messages of mmengine's current logger while the block runs."""
    from mmengine.logging import MMLogger
    records = []

    class Collect(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Collect()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def write_recipe(tmp_path, detector, depth, eps, checkpoint_depth=None):
    """The recipe of the README, as a user would write it in one file."""
    checkpoint_depth = checkpoint_depth or depth
    text = f'''_base_ = [
    '{BASES[detector].format(depth=depth)}',
    '{PLUGIN}',
]
custom_hooks = [*_base_.get('custom_hooks', []), *_base_.eps_l2_hooks]
ws = dict(conv_cfg=dict(type='WSConv2d'),
          norm_cfg=dict(type='GN', num_groups=32, requires_grad=True))
num_classes = 5
model = dict(
    backbone=dict(
        depth={depth}, **ws,
        init_cfg=dict(type='Pretrained',
                      checkpoint='open-mmlab://jhu/resnet{checkpoint_depth}_gn_ws')),
    neck=dict(**ws),
{HEADS[detector]}
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps={eps})))
'''
    path = tmp_path / f'{detector}_r{depth}.py'
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize('detector', ['mask', 'faster', 'retina'])
@pytest.mark.parametrize('depth,eps', [(50, 1e-3), (101, 1e-6)])
def test_one_file_recipe_gives_gn_ws_with_the_shift(tmp_path, detector,
                                                    depth, eps):
    from mmdet.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    cfg = Config.fromfile(write_recipe(tmp_path, detector, depth, eps))
    assert check_config(cfg, check_paths=False) == []
    assert cfg.model.backbone.depth == depth
    assert cfg.model.backbone.init_cfg.checkpoint == \
        f'open-mmlab://jhu/resnet{depth}_gn_ws'
    cfg.model.backbone.init_cfg = None  # no download here
    model = MODELS.build(cfg.model)
    # every conv of backbone, neck and heads that mmdet's gn+ws makes WS
    # is a WSConv2d, except the prediction layers (plain in mmdet too)
    for part in ('backbone', 'neck'):
        convs = [m for m in getattr(model, part).modules()
                 if type(m).__name__ in ('Conv2d', 'WSConv2d')]
        assert convs and all(isinstance(m, WSConv2d) for m in convs), part
    if detector == 'retina':
        towers = list(model.bbox_head.cls_convs) + list(
            model.bbox_head.reg_convs)
        assert len(towers) == 8
        assert all(isinstance(c.conv, WSConv2d) for c in towers)
        assert model.bbox_head.num_classes == 5
    else:
        bbox_head = model.roi_head.bbox_head
        assert len(bbox_head.shared_convs) == 4
        assert all(isinstance(c.conv, WSConv2d)
                   for c in bbox_head.shared_convs)
        assert bbox_head.num_classes == 5
        if detector == 'mask':
            mask_head = model.roi_head.mask_head
            assert len(mask_head.convs) == 4
            assert all(isinstance(c.conv, WSConv2d) for c in mask_head.convs)
            assert mask_head.num_classes == 5
    # every trainable WS weight (mmdet's bases freeze the stem and layer1)
    ws_weights = sum(isinstance(m, WSConv2d) and m.weight.requires_grad
                     for m in model.modules())
    # 53 convs, 11 frozen; R-101: 51 more; FPN 8; box head 4;
    # mask head 4; RetinaNet towers 8
    assert ws_weights == {50: 42, 101: 93}[depth] + 8 + {
        'mask': 8, 'faster': 4, 'retina': 8}[detector]
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=cfg.optim_wrapper.constructor,
             optim_wrapper_cfg=dict(
                 type='OptimWrapper', optimizer=cfg.optim_wrapper.optimizer),
             paramwise_cfg=cfg.optim_wrapper.paramwise_cfg))
    with logged() as records:
        optimizer = constructor(model).optimizer
    shifted = [g for g in optimizer.param_groups if 'eps_l2_eps' in g]
    assert len(shifted) == 1 and shifted[0]['eps_l2_eps'] == eps
    assert len(shifted[0]['params']) == ws_weights
    # the frozen stem and layer1 (33 tensors): mmengine's own warning for
    # each, as its stock constructor prints them; one line of the table
    log = '\n'.join(records)
    assert log.count('is skipped since its requires_grad=False') == 33
    assert '33 parameter(s) with requires_grad=False (frozen stages, fixed ' \
        'norms) are not optimized' in format_group_table(optimizer, model)


def test_checkpoint_of_another_depth_is_refused(tmp_path):
    cfg = Config.fromfile(
        write_recipe(tmp_path, 'mask', 101, 1e-6, checkpoint_depth=50))
    with pytest.raises(ConfigCheckError) as e:
        check_config(cfg, check_paths=False)
    assert 'model.backbone.init_cfg.checkpoint is ' \
        'open-mmlab://jhu/resnet50_gn_ws (resnet, depth 50) but ' \
        'model.backbone is ResNet of depth 101: choose the GN+WS ' \
        'checkpoint of that backbone' in str(e.value)


def test_second_model_dict_dropping_the_ws_convs_is_refused_early(
        tmp_path, monkeypatch):
    # the old recipe customised in the same file: the second assignment
    # replaces the GN+WS model of the first
    path = tmp_path / 'dropped.py'
    path.write_text(f'''_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    '{GN_WS}',
    '{PLUGIN}',
]
model = {{{{_base_.gn_ws_mask_rcnn}}}}
optim_wrapper = {{{{_base_.eps_l2_optim_wrapper}}}}
model = dict(roi_head=dict(bbox_head=dict(num_classes=3),
                           mask_head=dict(num_classes=3)))
''')
    sys.path.insert(0, TOOLS)
    import train
    monkeypatch.chdir(tmp_path)
    work_dir = tmp_path / 'wd'
    with pytest.raises(SystemExit) as e:
        train.build_runner([str(path), '--work-dir', str(work_dir)])
    message = str(e.value)
    assert 'optim_wrapper.paramwise_cfg.eps_l2 is set but no conv_cfg of ' \
        'the model has a weight-standardized type' in message
    assert 'a second `model = dict(...)` in the same file replaced them' \
        in message
    assert not work_dir.exists()


def test_readme_adamw_example_builds_a_decoupled_shift(tmp_path):
    from mmdet.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    from helpers.toy import TOY_MASK_RCNN
    path = tmp_path / 'adamw.py'
    path.write_text(f'''_base_ = {TOY_MASK_RCNN!r}
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-4, weight_decay=0.05),
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
''')
    cfg = Config.fromfile(str(path))
    assert check_config(cfg, check_paths=False) == []
    assert dict(cfg.optim_wrapper.optimizer) == dict(
        type='AdamW', lr=1e-4, weight_decay=0.05)
    wrapper_cfg = dict(cfg.optim_wrapper)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=wrapper_cfg.pop('constructor'),
             paramwise_cfg=wrapper_cfg.pop('paramwise_cfg'),
             optim_wrapper_cfg=wrapper_cfg))
    optimizer = constructor(MODELS.build(cfg.model)).optimizer
    assert type(optimizer).__name__ == 'AdamW'
    shifted = [g for g in optimizer.param_groups if 'eps_l2_eps' in g]
    assert len(shifted) == 1
    assert shifted[0]['eps_l2_mode'] == 'decoupled'
