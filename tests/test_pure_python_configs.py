"""The pure-Python configs of mmdet_eps_l2.configs build what their text
namesakes in configs/ build, and travel with an installed package."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from helpers.toy import ROOT, TOOLS

#: end to end (training, fresh interpreters, full-size detectors)
pytestmark = pytest.mark.slow

PURE = osp.join(ROOT, 'mmdet_eps_l2', 'configs')
#: text config (configs/...) -> pure-Python config (mmdet_eps_l2/configs/...)
PAIRS = {
    f'{folder}/{name}.py': f'{folder}/{name.replace("-", "_")}.py'
    for folder, name in [
        ('eps_l2', 'mask-rcnn_r50_fpn_gn-ws-all_eps-l2_2x_coco'),
        ('eps_l2', 'mask-rcnn_r50_fpn_gn-ws-all_eps-l2_20-23-24e_coco'),
        ('eps_l2', 'mask-rcnn_r101_fpn_gn-ws-all_eps-l2_2x_coco'),
        ('eps_l2', 'mask-rcnn_x101-32x4d_fpn_gn-ws-all_eps-l2_2x_coco'),
        ('eps_l2', 'faster-rcnn_r50_fpn_gn-ws-all_eps-l2_1x_coco'),
        ('eps_l2', 'faster-rcnn_r101_fpn_gn-ws-all_eps-l2_1x_coco'),
        ('eps_l2', 'retinanet_r50_fpn_gn-ws-all_eps-l2_1x_coco'),
        ('eps_l2', 'retinanet_r101_fpn_gn-ws-all_eps-l2_1x_coco'),
        ('toy', 'mask-rcnn_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes'),
        ('toy', 'retinanet_r18-c32_fpn-c64_gn-ws-all_eps-l2_toy-shapes'),
    ]
}


def test_every_text_config_has_its_pure_python_namesake():
    text = sorted(
        f'{d}/{f}' for d in ('eps_l2', 'toy')
        for f in os.listdir(osp.join(ROOT, 'configs', d)))
    assert sorted(PAIRS) == text
    for pure in PAIRS.values():
        assert osp.isfile(osp.join(PURE, pure)), pure


def _build(cfg):
    """Model, optimizer wrapper, and the groups as comparable rows."""
    from mmdet.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    from mmdet_eps_l2.checks.data import type_name
    model_cfg = cfg.model
    model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    wrapper_cfg = dict(cfg.optim_wrapper)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=type_name(wrapper_cfg.pop('constructor')),
             paramwise_cfg=wrapper_cfg.pop('paramwise_cfg', None),
             optim_wrapper_cfg=wrapper_cfg))
    wrapper = constructor(model)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [
        ({k: v for k, v in g.items() if k not in ('params', 'initial_lr')},
         [names[id(p)] for p in g['params']])
        for g in wrapper.optimizer.param_groups
    ]
    return model, wrapper, groups


@pytest.mark.parametrize('text', sorted(PAIRS))
def test_pure_python_config_builds_what_the_text_config_builds(text):
    from mmdet_eps_l2.checks import check_config
    text_cfg = Config.fromfile(osp.join(ROOT, 'configs', text))
    pure_cfg = Config.fromfile(osp.join(PURE, PAIRS[text]))
    assert check_config(pure_cfg, check_paths=False) == []
    model_a, wrapper_a, groups_a = _build(text_cfg)
    model_b, wrapper_b, groups_b = _build(pure_cfg)
    assert repr(model_a) == repr(model_b)
    shapes_a = {k: v.shape for k, v in model_a.state_dict().items()}
    assert shapes_a == {k: v.shape for k, v in model_b.state_dict().items()}
    assert type(wrapper_a) is type(wrapper_b)
    assert type(wrapper_a.optimizer) is type(wrapper_b.optimizer)
    assert groups_a == groups_b
    assert any('eps_l2_eps' in g for g, _ in groups_b)
    # the schedule, hooks and runner of the two agree too
    for key in ('train_cfg', 'param_scheduler', 'custom_hooks',
                'default_hooks'):
        assert _names(text_cfg.get(key)) == _names(pure_cfg.get(key)), key


def _names(node):
    """A config tree with ``type`` values as names (text vs classes), and
    without the ``_scope_`` mmengine adds to ``mmdet::`` text bases."""
    from mmdet_eps_l2.checks.data import type_name
    if isinstance(node, dict):
        return {k: type_name(v) if k == 'type' else _names(v)
                for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return [_names(v) for v in node]
    return type_name(node) if isinstance(node, type) else node


def test_generated_mmdet_bases_are_up_to_date():
    sys.path.insert(0, TOOLS)
    import convert_mmdet_bases
    assert convert_mmdet_bases.main(['--check']) == 0


def test_an_installed_copy_is_inherited_from_another_folder(tmp_path):
    """pip install (not editable) into a folder, then a user config in
    another folder inherits the package's configs and changes them."""
    target = tmp_path / 'site'
    pip = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
         '--no-build-isolation', '--target', str(target), ROOT],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600)
    assert pip.returncode == 0, pip.stdout[-3000:]
    assert osp.isfile(target / 'mmdet_eps_l2' / 'configs' / 'toy' /
                      'mask_rcnn_r18_c32_fpn_c64_gn_ws_all_eps_l2_toy_shapes.py')
    user = tmp_path / 'elsewhere'
    user.mkdir()
    (user / 'my_detector.py').write_text(
        'from mmengine.config import read_base\n\n'
        'with read_base():\n'
        '    from mmdet_eps_l2.configs.toy.'
        'mask_rcnn_r18_c32_fpn_c64_gn_ws_all_eps_l2_toy_shapes import *  '
        '# noqa\n\n'
        'model.update(dict(roi_head=dict(bbox_head=dict(num_classes=5),\n'
        '                                mask_head=dict(num_classes=5))))\n'
        'optim_wrapper.update(dict(paramwise_cfg=dict('
        'eps_l2=dict(eps=2e-3))))\n')
    script = (
        'import mmdet_eps_l2, torch\n'
        'from mmengine.config import Config\n'
        'from mmengine.registry import init_default_scope\n'
        'from mmdet.registry import MODELS\n'
        'init_default_scope("mmdet")\n'
        'cfg = Config.fromfile("my_detector.py")\n'
        'model = MODELS.build(cfg.model)\n'
        'ws = sum(type(m).__name__ == "WSConv2d" for m in model.modules())\n'
        'print(mmdet_eps_l2.__file__)\n'
        'print(ws, model.roi_head.bbox_head.num_classes,\n'
        '      cfg.optim_wrapper.paramwise_cfg.eps_l2.eps)\n')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['PYTHONPATH'] = str(target)
    proc = subprocess.run([sys.executable, '-c', script], cwd=user, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[-2].startswith(str(target))  # the installed copy
    assert lines[-1] == '34 5 0.002'
