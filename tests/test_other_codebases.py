"""The plugin in other OpenMMLab codebases: its classes live in mmengine's
root registries, so they resolve under any default scope (as mmcv's
``ConvWS`` does), and a GN+WS segmentor of mmsegmentation trains with the
ε-shift through mmseg's own config system."""
import copy
import math
import os
import os.path as osp
from importlib import import_module
from importlib.util import find_spec

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS, DefaultScope

from helpers.toy import ROOT
from mmdet_eps_l2.hooks import RNGStateHook, WeightStatsHook
from mmdet_eps_l2.models import WSConv2d
from mmdet_eps_l2.ops import eps_shifted_l2_grad
from mmdet_eps_l2.ops.param_groups import EPS, is_shifted
from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor

needs_mmseg = pytest.mark.skipif(find_spec('mmseg') is None,
                                 reason='mmsegmentation is not installed')


def _scope(name: str):
    installed = name == 'mmengine' or find_spec(name) is not None
    return pytest.param(name, marks=pytest.mark.skipif(
        not installed, reason=f'{name} is not installed'))


@pytest.mark.parametrize(
    'scope', [_scope(s) for s in ('mmseg', 'mmdet', 'mmpose', 'mmengine')])
def test_the_plugin_resolves_under_any_default_scope(scope):
    """mmcv's ``build_conv_layer``, mmengine's root registries (what the
    Runner builds with) and the codebase's own registries (what its models
    build with) find the conv, the constructor and the hooks."""
    from mmcv.cnn import build_conv_layer
    from mmengine import registry as root
    own = root if scope == 'mmengine' else import_module(f'{scope}.registry')
    with DefaultScope.overwrite_default_scope(scope):
        assert DefaultScope.get_current_instance().scope_name == scope
        conv = build_conv_layer(dict(type='WSConv2d'), 4, 8, 3)
        assert type(conv) is WSConv2d and conv.weight.shape == (8, 4, 3, 3)
        for registry in (root, own):
            assert type(registry.MODELS.build(dict(
                type='WSConv2d', in_channels=4, out_channels=8,
                kernel_size=3))) is WSConv2d
            assert type(registry.HOOKS.build(
                dict(type='WeightStatsHook'))) is WeightStatsHook
            assert type(registry.HOOKS.build(
                dict(type='RNGStateHook'))) is RNGStateHook
            constructor = registry.OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
                type='EpsShiftedL2OptimWrapperConstructor',
                optim_wrapper_cfg=dict(
                    type='OptimWrapper',
                    optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4)),
                paramwise_cfg=dict(eps_l2=dict(eps=1e-3))))
            assert type(constructor) is EpsShiftedL2OptimWrapperConstructor
            model = nn.Sequential(conv, nn.GroupNorm(2, 8))
            groups = constructor(model).optimizer.param_groups
            shifted = [p for g in groups if is_shifted(g) for p in g['params']]
            assert len(shifted) == 1 and shifted[0] is conv.weight
            assert [g[EPS] for g in groups if is_shifted(g)] == [1e-3]


# --------------------------------------------------------------------------
# a GN+WS segmentor of mmseg, trained with the shift from a config file

CLASSES = ('background', 'square', 'disc')


def make_toy_segmentation(root: str, num_images: int = 4, size: int = 64,
                          seed: int = 0) -> None:
    """mmseg's ``BaseSegDataset`` layout under ``root``:
    ``img_dir/train/*.png`` (noise, a filled square and a filled disc) and
    ``ann_dir/train/*.png`` (class ids 0, 1, 2 as in :data:`CLASSES`)."""
    rng = np.random.RandomState(seed)
    for folder in ('img_dir', 'ann_dir'):
        os.makedirs(osp.join(root, folder, 'train'), exist_ok=True)
    for i in range(num_images):
        image = rng.randint(0, 80, (size, size, 3)).astype(np.uint8)
        label = np.zeros((size, size), np.uint8)
        x, y, side = rng.randint(2, size // 2, 2).tolist() + [size // 3]
        label[y:y + side, x:x + side] = 1
        cx, cy = rng.randint(size // 4, 3 * size // 4, 2).tolist()
        cv2.circle(label, (cx, cy), size // 6, 2, thickness=-1)
        image[label == 1] = (40, 200, 40)
        image[label == 2] = (200, 40, 200)
        cv2.imwrite(osp.join(root, 'img_dir', 'train', f'{i:03d}.png'), image)
        cv2.imwrite(osp.join(root, 'ann_dir', 'train', f'{i:03d}.png'), label)


#: SGD's step and the shift's ε and λ: large enough that the shift moves each
#: WS weight by lr·λ·ε·|ŵ| ≈ 1e-5, far above float32 rounding of the step
LR, WEIGHT_DECAY, EPS_VALUE = 0.02, 0.05, 0.01

#: mmseg's FCN config and runtime, shrunk (ResNetV1c-18, 16 base channels),
#: GN + WSConv2d everywhere, this package's plugin snippet, 4 iterations
SEGMENTOR = """\
_base_ = [
    'mmseg::_base_/models/fcn_r50-d8.py',
    'mmseg::_base_/default_runtime.py',
    '{root}/configs/_base_/eps-l2_plugin.py',
]
gn = dict(type='GN', num_groups=4, requires_grad=True)
ws = dict(type='WSConv2d')
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(depth=18, stem_channels=16, base_channels=16,
                  norm_cfg=gn, conv_cfg=ws),
    decode_head=dict(in_channels=128, channels=16, dropout_ratio=0.0,
                     num_classes=3, norm_cfg=gn, conv_cfg=ws),
    auxiliary_head=None)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=False),
    dataset=dict(
        type='BaseSegDataset', data_root='{data}',
        data_prefix=dict(img_path='img_dir/train',
                         seg_map_path='ann_dir/train'),
        img_suffix='.png', seg_map_suffix='.png',
        metainfo=dict(classes={classes},
                      palette=[[0, 0, 0], [0, 255, 0], [255, 0, 255]]),
        pipeline=train_pipeline))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=100)
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='EpsShiftedL2OptimWrapperConstructor',
    optimizer=dict(type='SGD', lr={lr}, momentum=0.9,
                   weight_decay={wd}),
    paramwise_cfg=dict(eps_l2=dict(eps={eps})))
custom_hooks = [*_base_.eps_l2_hooks, dict(type='SegFirstStepRecorder')]
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=100, by_epoch=False),
    logger=dict(type='LoggerHook', interval=1))
visualizer = dict(name='vis_mmseg_gn_ws')
"""


@HOOKS.register_module()
class SegFirstStepRecorder(Hook):
    """Test-only: the parameters and the batch before the first step, the
    parameters after it, and every iteration's loss."""

    def __init__(self):
        self.before, self.after, self.batch, self.losses = {}, {}, None, []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            self.batch = copy.deepcopy(data_batch)
            self.before = {n: p.detach().clone()
                           for n, p in runner.model.named_parameters()}

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss'].detach()))
        if batch_idx == 0:
            self.after = {n: p.detach().clone()
                          for n, p in runner.model.named_parameters()}


def _loss_grads(model, state: dict, batch: dict) -> dict:
    """The loss gradient of ``model`` at ``state`` on ``batch``."""
    model = copy.deepcopy(model)
    model.load_state_dict(state, strict=False)
    model.train()
    model.zero_grad()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.slow
@needs_mmseg
def test_a_gn_ws_segmentor_trains_with_the_shift_from_an_mmseg_config(
        tmp_path):
    """mmseg's EncoderDecoder (ResNetV1c + FCNHead, 25 WS convs) from a
    config file that inherits mmseg's bases and this package's snippet:
    the shift's groups hold exactly the WS conv weights, the first SGD
    step equals ``w - lr·(g + λ·w - λ·ε·ŵ)`` on them and ``w - lr·(g + λ·w)``
    elsewhere, and four iterations give finite losses."""
    from mmengine.runner import Runner
    data = tmp_path / 'toy_seg'
    make_toy_segmentation(str(data))
    path = tmp_path / 'fcn_r18-c16_gn-ws_eps-l2_toy-seg.py'
    path.write_text(SEGMENTOR.format(
        root=ROOT, data=data, classes=CLASSES, lr=LR, wd=WEIGHT_DECAY,
        eps=EPS_VALUE))
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports.imports == ['mmdet_eps_l2']
    assert [h.type for h in cfg.custom_hooks] == [
        'WeightStatsHook', 'RNGStateHook', 'SegFirstStepRecorder']
    # as --cfg-options would: the statistics every 2 iterations
    cfg.merge_from_dict({'custom_hooks.0.interval': 2})
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()

    model = runner.model
    assert type(model).__module__.startswith('mmseg.')
    ws_weights = {n + '.weight' for n, m in model.named_modules()
                  if isinstance(m, WSConv2d)}
    assert len(ws_weights) == 25  # backbone 22, FCN head 3
    names = {id(p): n for n, p in model.named_parameters()}
    groups = runner.optim_wrapper.optimizer.param_groups
    shifted = {names[id(p)] for g in groups if is_shifted(g)
               for p in g['params']}
    assert shifted == ws_weights
    assert {g[EPS] for g in groups if is_shifted(g)} == {EPS_VALUE}
    assert {g['weight_decay'] for g in groups} == {WEIGHT_DECAY}

    recorder = next(h for h in runner.hooks
                    if isinstance(h, SegFirstStepRecorder))
    assert len(recorder.losses) == 4
    assert all(math.isfinite(v) for v in recorder.losses)
    # WeightStatsHook ran under mmseg's scope
    assert any(k.startswith('ws/') for k in runner.message_hub.log_scalars)

    grads = _loss_grads(model, recorder.before, recorder.batch)
    assert set(recorder.after) == set(names.values())
    for name, w0 in recorder.before.items():
        w0, g = w0.double(), grads[name].double()
        plain = w0 - LR * (g + WEIGHT_DECAY * w0)
        expected = w0 - LR * (g + eps_shifted_l2_grad(w0, EPS_VALUE,
                                                      WEIGHT_DECAY)) \
            if name in ws_weights else plain
        w1 = recorder.after[name].double()
        # float32 rounding of w and of the step's three terms
        tol = 4 * torch.finfo(torch.float32).eps * float(
            torch.maximum(w0.abs(), w1.abs()).max())
        error = float((w1 - expected).abs().max())
        assert error <= tol, (name, error, tol)
        if name in ws_weights:  # the shift's own move, far above that
            assert float((expected - plain).abs().max()) > 20 * tol, name
