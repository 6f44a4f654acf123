"""Folding WS into plain convs: same outputs, runs without the plugin."""
import os.path as osp
import sys

import torch
import torch.nn as nn
from mmcv.cnn.bricks.conv_ws import ConvWS2d
from mmengine.config import Config

from helpers.toy import TOOLS, TOY_MASK_RCNN, run_tool
from mmdet_eps_l2 import WSConv2d, fold_ws_convs

sys.path.insert(0, TOOLS)
from fold_ws import strip_ws_from_config  # noqa: E402  (tools/fold_ws.py)

GN = dict(type='GN', num_groups=4, requires_grad=True)


def test_folding_a_gn_ws_resnet_keeps_its_outputs():
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    cfg = dict(type='ResNet', depth=18, base_channels=8, norm_cfg=GN,
               conv_cfg=dict(type='WSConv2d'), init_cfg=None)
    model = MODELS.build(cfg)
    model.eval()
    # an mmcv ConvWS among them is folded too
    model.conv1 = ConvWS2d(3, 8, 7, stride=2, padding=3, bias=False)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
    n_ws = sum(isinstance(m, (WSConv2d, ConvWS2d)) for m in model.modules())
    assert fold_ws_convs(model) == n_ws == 20
    assert not any(isinstance(m, (WSConv2d, ConvWS2d))
                   for m in model.modules())
    assert all(type(m) is nn.Conv2d for m in model.modules()
               if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        got = model(x)
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_strip_config_leaves_no_plugin_trace():
    cfg = Config.fromfile(TOY_MASK_RCNN).to_dict()
    plain = strip_ws_from_config(cfg)
    text = repr(plain)
    for name in ('WSConv2d', 'mmdet_eps_l2', 'EpsShiftedL2',
                 'WeightStatsHook', 'RNGStateHook', 'eps_l2'):
        assert name not in text, name
    assert plain['model']['neck']['conv_cfg'] is None
    assert plain['optim_wrapper']['optimizer']['weight_decay'] == 1e-4


def test_fold_tool_output_runs_with_stock_mmdet(in_toy_root):
    import train
    runner = train.build_runner([
        TOY_MASK_RCNN, '--work-dir', str(in_toy_root / 'wd_fold'),
        '--cfg-options', 'train_cfg.max_iters=1', 'train_cfg.val_interval=2',
        'train_dataloader.batch_size=2', 'default_hooks.checkpoint.interval=1',
        'visualizer.name=vis_fold'
    ])
    runner.train()
    ckpt = str(in_toy_root / 'wd_fold' / 'iter_1.pth')
    out, out_cfg = in_toy_root / 'folded.pth', in_toy_root / 'folded.py'
    proc = run_tool([osp.join(TOOLS, 'fold_ws.py'), TOY_MASK_RCNN, ckpt,
                     str(out), '--out-config', str(out_cfg)],
                    cwd=in_toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'folded 34 WS convs' in proc.stdout
    # a fresh interpreter with stock mmdet only: the plugin is never imported
    script = (
        'import sys, torch\n'
        'from mmengine.config import Config\n'
        'from mmengine.registry import init_default_scope\n'
        'from mmengine.runner import load_checkpoint\n'
        'from mmdet.registry import MODELS\n'
        'init_default_scope("mmdet")\n'
        f'cfg = Config.fromfile(r"{out_cfg}")\n'
        'model = MODELS.build(cfg.model).eval()\n'
        f'load_checkpoint(model, r"{out}", map_location="cpu")\n'
        'assert "mmdet_eps_l2" not in sys.modules\n'
        'torch.manual_seed(0)\n'
        'x = torch.randn(1, 3, 128, 128)\n'
        'with torch.no_grad():\n'
        '    feats = model.extract_feat(x)\n'
        f'torch.save([f.clone() for f in feats], r"{in_toy_root}/plain.pt")\n')
    proc = run_tool(['-c', script], cwd=in_toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    model = runner.model.eval()
    torch.manual_seed(0)
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        expected = model.extract_feat(x)
    got = torch.load(in_toy_root / 'plain.pt', weights_only=True)
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)
