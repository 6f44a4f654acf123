"""The plugin added to mmdet's own configs: every model family built with
the snippet and the optimizer lines, and short runs of RTMDet-tiny and
YOLOX-s on toy data in mmdet's COCO layout, their own hooks kept."""
import copy
import os
import os.path as osp
import re

import mmdet
import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmdet.registry import MODELS

from helpers.toy import ROOT, run_tool, scalars
from mmdet_eps_l2.optim import native_decay_mode

MMDET_CONFIGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
PLUGIN = osp.join(ROOT, 'configs', '_base_', 'eps-l2_plugin.py')
#: the snippet and the optimizer lines of the README's recipe
RECIPE = """_base_ = ['{detector}', '{plugin}']
custom_hooks = [*_base_.get('custom_hooks', []), *_base_.eps_l2_hooks]
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3{extra})))
"""
PLUGIN_HOOKS = ['WeightStatsHook', 'RNGStateHook']
#: the smallest variants first, so one config of a family builds fast
SMALL = ('nano', 'tiny', 'r18', 'r50')


def with_plugin(detector: str, folder, extra: str = '') -> str:
    path = osp.join(str(folder), 'plugin_' + osp.basename(detector))
    with open(path, 'w') as f:
        f.write(RECIPE.format(detector=detector, plugin=PLUGIN, extra=extra))
    return path


def family_configs():
    """One config per model family (folder) of the installed mmdet."""
    for family in sorted(os.listdir(MMDET_CONFIGS)):
        folder = osp.join(MMDET_CONFIGS, family)
        if family.startswith(('_', '.')) or not osp.isdir(folder):
            continue
        files = sorted(f for f in os.listdir(folder)
                       if f.endswith('.py') and not f.startswith('_'))
        if files:
            files.sort(key=lambda f: not any(s in f for s in SMALL))
            yield family, osp.join(folder, files[0])


def _hook_types(cfg):
    return [h['type'] for h in cfg.get('custom_hooks') or []]


@pytest.mark.slow
def test_every_family_that_builds_alone_builds_with_the_plugin(tmp_path):
    outcome = {}
    for family, path in family_configs():
        try:
            alone = Config.fromfile(path)
            model = MODELS.build(copy.deepcopy(alone.model))
            build_optim_wrapper(model, copy.deepcopy(alone.optim_wrapper))
        except Exception:  # noqa: BLE001  what does not build alone
            outcome[family] = 'alone fails'
            continue
        cfg = Config.fromfile(
            with_plugin(path, tmp_path, ', allow_no_ws_conv=True'))
        assert cfg.model == alone.model, family
        assert _hook_types(cfg) == _hook_types(alone) + PLUGIN_HOOKS, family
        assert cfg.custom_imports.imports[-1] == 'mmdet_eps_l2'
        try:
            wrapper = build_optim_wrapper(model,
                                          copy.deepcopy(cfg.optim_wrapper))
        except ValueError as e:
            # DetectoRS' sqrt(var + 1e-5) convs: the shift needs a larger ε
            assert 'Use eps >= 0.03162' in str(e), family
            cfg.optim_wrapper.paramwise_cfg.eps_l2.eps = 0.04
            wrapper = build_optim_wrapper(model,
                                          copy.deepcopy(cfg.optim_wrapper))
        optimizer = cfg.optim_wrapper.optimizer
        mode = native_decay_mode(optimizer['type'], optimizer)
        shifted = [g for g in wrapper.optimizer.param_groups
                   if 'eps_l2_eps' in g]
        assert all(g['eps_l2_mode'] == mode for g in shifted), family
        outcome[family] = 'shifted' if shifted else 'builds'
        del model, wrapper
    counts = {k: sum(v == k for v in outcome.values())
              for k in ('alone fails', 'builds', 'shifted')}
    print(f'{len(outcome)} families: {counts}')
    alone = len(outcome) - counts['alone fails']
    # every family that builds alone builds with the plugin (asserted
    # above, family by family); most of mmdet builds here
    assert alone >= 0.7 * len(outcome)
    assert outcome['gn+ws'] == 'shifted'


def test_the_snippet_merges_beside_a_config_with_hooks_and_imports(tmp_path):
    """RTMDet defines custom_hooks; the ConvNeXt example custom_imports:
    the first merges as it is, the second with the README's one line."""
    rtmdet = osp.join(MMDET_CONFIGS, 'rtmdet', 'rtmdet_tiny_8xb32-300e_coco.py')
    cfg = Config.fromfile(with_plugin(rtmdet, tmp_path))
    assert _hook_types(cfg) == ['EMAHook', 'PipelineSwitchHook'] + PLUGIN_HOOKS
    assert 'runner_type' not in cfg
    convnext = osp.join(MMDET_CONFIGS, 'convnext',
                        'mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py')
    with pytest.raises(KeyError, match='custom_imports'):
        Config.fromfile(with_plugin(convnext, tmp_path))
    one_line = osp.join(str(tmp_path), 'convnext_one_line.py')
    with open(one_line, 'w') as f:
        f.write(f"_base_ = ['{convnext}']\n"
                'custom_imports = dict(\n'
                "    imports=[*_base_.custom_imports.imports, 'mmdet_eps_l2'],"
                '\n    allow_failed_imports=False)\n')
    assert Config.fromfile(one_line, import_custom_modules=False
                           ).custom_imports.imports == [
        'mmpretrain.models', 'mmdet_eps_l2']


@pytest.fixture(scope='module')
def coco_layout_root(tmp_path_factory):
    from toy_shapes import generate_toy_coco
    root = tmp_path_factory.mktemp('coco_layout')
    generate_toy_coco(str(root), num_train=8, num_val=2, image_size=128,
                      coco_layout=True)
    return root


#: one epoch of 8 images (4 iterations) of a stock config, on CPU
SHORT_RUN = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=100',
    'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
    'default_hooks.checkpoint.interval=100', 'default_hooks.logger.interval=1',
]


@pytest.mark.slow
@pytest.mark.parametrize('config,optimizer,hooks', [
    ('rtmdet/rtmdet_tiny_8xb32-300e_coco.py', 'AdamW',
     ['EMAHook', 'PipelineSwitchHook']),
    ('yolox/yolox_s_8xb8-300e_coco.py', 'SGD',
     ['YOLOXModeSwitchHook', 'SyncNormHook', 'EMAHook']),
])
def test_a_stock_detector_trains_with_the_plugin_and_its_own_hooks(
        config, optimizer, hooks, coco_layout_root, tmp_path):
    """WS convs in the backbone (conv_cfg), the snippet, the optimizer lines:
    four iterations through tools/train.py; the detector's hooks and the
    plugin's run, the shift takes the optimizer's own semantics."""
    path = with_plugin(osp.join(MMDET_CONFIGS, config), tmp_path)
    with open(path, 'a') as f:
        # offline: no ImageNet weights
        f.write("model = dict(backbone=dict(conv_cfg=dict(type='WSConv2d'), "
                'init_cfg=None))\n')
    work = tmp_path / 'work'
    proc = run_tool([osp.join(ROOT, 'tools', 'train.py'), path,
                     '--work-dir', str(work), '--cfg-options',
                     f'data_root={coco_layout_root}/',
                     f'custom_hooks.{len(hooks)}.interval=1'] + SHORT_RUN,
                    cwd=str(tmp_path), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = proc.stdout
    mode = 'decoupled' if optimizer == 'AdamW' else 'coupled'
    assert re.search(rf'-lambda\*eps\*w_hat, eps=0.001 lambda=\S+ {mode}',
                     log), log[-3000:]
    for hook in hooks + PLUGIN_HOOKS:
        assert re.search(rf'\b{hook}\b', log), hook
    assert re.search(r'ws iter 3: sigma min \S+ median \S+ over \d+ WS '
                     r'filters, near eps 0\.000', log), log[-3000:]
    records = [r for r in scalars(str(work)) if r.get('step') == 3]
    assert any(k.endswith('/sigma_median') for r in records for k in r)
