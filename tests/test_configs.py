"""Every shipped config builds, is GN+WS where mmdet's gn+ws configs put
WS convs, and trains its WS weights with the ε-shift."""
import glob
import os.path as osp
import re

import pytest
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from helpers.toy import ROOT
from mmdet_eps_l2.models import WSConv2d

#: end to end (training, fresh interpreters, full-size detectors)
pytestmark = pytest.mark.slow

CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'eps_l2', '*.py')) +
    glob.glob(osp.join(ROOT, 'configs', 'toy', '*.py')))

# convs that stay plain in mmdet's GN+WS detectors: the RPN head, the final
# predictors (mask logits, RetinaNet cls/reg)
PLAIN_CONV = re.compile(r'^(rpn_head\.|roi_head\.mask_head\.conv_logits$|'
                        r'bbox_head\.retina_(cls|reg)$)')
STATED_EPS = re.compile(r'eps_l2=dict\(eps=([0-9.e-]+)\)')


def test_all_configs_are_listed():
    names = {osp.basename(c) for c in CONFIGS}
    assert len(names) == 10
    for expected in ('mask-rcnn_r50_fpn_gn-ws-all_eps-l2_2x_coco.py',
                     'mask-rcnn_r50_fpn_gn-ws-all_eps-l2_20-23-24e_coco.py',
                     'mask-rcnn_r101_fpn_gn-ws-all_eps-l2_2x_coco.py',
                     'mask-rcnn_x101-32x4d_fpn_gn-ws-all_eps-l2_2x_coco.py',
                     'faster-rcnn_r50_fpn_gn-ws-all_eps-l2_1x_coco.py',
                     'faster-rcnn_r101_fpn_gn-ws-all_eps-l2_1x_coco.py',
                     'retinanet_r50_fpn_gn-ws-all_eps-l2_1x_coco.py',
                     'retinanet_r101_fpn_gn-ws-all_eps-l2_1x_coco.py'):
        assert expected in names


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_config_is_gn_ws_with_eps_shift(config):
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    stated = STATED_EPS.findall(open(config).read())
    assert stated, f'{config} does not state its ε'
    if 'eps_l2' in config:
        assert cfg.model.backbone.init_cfg.checkpoint.startswith(
            'open-mmlab://jhu/')
        assert cfg.data_root == 'data/coco/'
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)

    ws_names, plain_names = [], []
    for name, module in model.named_modules():
        if isinstance(module, WSConv2d):
            ws_names.append(name)
        elif isinstance(module, nn.Conv2d):
            plain_names.append(name)
        assert not isinstance(module, nn.modules.batchnorm._BatchNorm), name
    assert ws_names
    assert [n for n in plain_names if not PLAIN_CONV.match(n)] == []
    for prefix in ('backbone.', 'neck.'):
        assert any(n.startswith(prefix) for n in ws_names)
    heads = ('roi_head.bbox_head.', 'roi_head.mask_head.', 'bbox_head.')
    assert any(n.startswith(heads) for n in ws_names)

    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    shifted = {id(p) for g in wrapper.optimizer.param_groups
               if 'eps_l2_eps' in g for p in g['params']}
    eps_values = {g['eps_l2_eps'] for g in wrapper.optimizer.param_groups
                  if 'eps_l2_eps' in g}
    assert eps_values == {float(stated[-1])}
    ws_trainable = {id(m.weight) for m in model.modules()
                    if isinstance(m, WSConv2d) and m.weight.requires_grad}
    assert shifted == ws_trainable


def _unscoped(node):
    """Drop the ``_scope_`` keys the ``mmdet::`` prefix adds."""
    if isinstance(node, dict):
        return {k: _unscoped(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [_unscoped(v) for v in node]
    return node


def _mmdet_config(path):
    from mmengine.utils import get_installed_path
    return osp.join(get_installed_path('mmdet'), '.mim', 'configs', path)


@pytest.mark.parametrize('ours,stock', [
    ('mask-rcnn_r50_fpn_gn-ws-all_eps-l2_2x_coco.py',
     'mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py'),
    ('mask-rcnn_r50_fpn_gn-ws-all_eps-l2_20-23-24e_coco.py',
     'mask-rcnn_r50_fpn_gn-ws-all_20-23-24e_coco.py'),
    ('mask-rcnn_r101_fpn_gn-ws-all_eps-l2_2x_coco.py',
     'mask-rcnn_r101_fpn_gn-ws-all_2x_coco.py'),
    ('mask-rcnn_x101-32x4d_fpn_gn-ws-all_eps-l2_2x_coco.py',
     'mask-rcnn_x101-32x4d_fpn_gn-ws-all_2x_coco.py'),
    ('faster-rcnn_r50_fpn_gn-ws-all_eps-l2_1x_coco.py',
     'faster-rcnn_r50_fpn_gn-ws-all_1x_coco.py'),
    ('faster-rcnn_r101_fpn_gn-ws-all_eps-l2_1x_coco.py',
     'faster-rcnn_r101_fpn_gn-ws-all_1x_coco.py'),
])
def test_like_for_like_with_mmdet_gn_ws_config(ours, stock):
    """Same detector, schedule and init as mmdet's gn+ws config; only the
    conv class (WSConv2d for ConvWS) and the optimizer constructor differ."""
    from mmcv.cnn.bricks.conv_ws import ConvWS2d
    from mmdet.registry import MODELS
    a = Config.fromfile(osp.join(ROOT, 'configs', 'eps_l2', ours))
    b = Config.fromfile(_mmdet_config(osp.join('gn+ws', stock)))
    for key in ('param_scheduler', 'train_cfg', 'train_dataloader',
                'val_evaluator'):
        assert _unscoped(a[key]) == _unscoped(b[key]), key
    assert _unscoped(a.model.backbone.init_cfg) == \
        _unscoped(b.model.backbone.init_cfg)
    assert _unscoped(a.optim_wrapper.optimizer) == \
        _unscoped(b.optim_wrapper.optimizer)
    a.model.backbone.init_cfg = b.model.backbone.init_cfg = None
    ma, mb = MODELS.build(a.model), MODELS.build(b.model)
    assert [n for n, m in ma.named_modules() if type(m) is WSConv2d] == \
        [n for n, m in mb.named_modules() if isinstance(m, ConvWS2d)]
    assert [(n, p.shape) for n, p in ma.named_parameters()] == \
        [(n, p.shape) for n, p in mb.named_parameters()]


def test_user_config_inherits_the_snippets(tmp_path):
    """The _base_ snippets added to a stock mmdet detector."""
    from mmdet.registry import MODELS
    base = osp.join(ROOT, 'configs', '_base_')
    user = tmp_path / 'my_mask_rcnn.py'
    user.write_text(
        "_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',\n"
        f"          '{base}/gn-ws_convs.py',\n"
        f"          '{base}/eps-l2_plugin.py']\n"
        "model = {{_base_.gn_ws_mask_rcnn}}\n"
        "custom_hooks = [*_base_.get('custom_hooks', []), "
        "*_base_.eps_l2_hooks]\n"
        "optim_wrapper = {{_base_.eps_l2_optim_wrapper}}\n")
    cfg = Config.fromfile(str(user))
    assert cfg.optim_wrapper.type == 'OptimWrapper'  # merged, not replaced
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.optim_wrapper.constructor == \
        'EpsShiftedL2OptimWrapperConstructor'
    assert cfg.custom_imports.imports == ['mmdet_eps_l2']
    assert [h['type'] for h in cfg.custom_hooks] == ['WeightStatsHook',
                                                     'RNGStateHook']
    assert cfg.model.backbone.init_cfg.checkpoint == \
        'open-mmlab://jhu/resnet50_gn_ws'
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    ws = [n for n, m in model.named_modules() if isinstance(m, WSConv2d)]
    assert 'backbone.conv1' in ws and 'neck.fpn_convs.0.conv' in ws
    assert 'roi_head.mask_head.convs.0.conv' in ws
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert sum(len(g['params']) for g in wrapper.optimizer.param_groups
               if 'eps_l2_eps' in g) == len(
                   [n for n in ws if not n.startswith('backbone.')]) + len(
                       [m for n, m in model.named_modules()
                        if n.startswith('backbone.')
                        and isinstance(m, WSConv2d)
                        and m.weight.requires_grad])
