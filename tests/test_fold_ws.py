"""Folding WS into plain convs: same outputs, runs without the plugin."""
import copy
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn
from mmcv.cnn.bricks.conv_ws import ConvWS2d
from mmengine.config import Config

from helpers.toy import TOOLS, TOY_MASK_RCNN, run_tool
from mmdet_eps_l2.models import WSConv2d, fold_ws_convs

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


@pytest.mark.slow
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


#: runs a script with this plugin made unimportable
WITHOUT_PLUGIN = (
    'import runpy, sys\n'
    'class NoPlugin:\n'
    '    @staticmethod\n'
    '    def find_spec(name, *args):\n'
    '        if name.split(".")[0] == "mmdet_eps_l2":\n'
    '            raise ImportError(f"{name} is hidden")\n'
    'sys.meta_path.insert(0, NoPlugin)\n'
    'sys.argv = sys.argv[1:]\n'
    'runpy.run_path(sys.argv[0], run_name="__main__")\n')


def _bbox_map(output: str) -> float:
    import re
    values = re.findall(r'coco/bbox_mAP: (-?[0-9.]+)', output)
    assert values, output[-3000:]
    return float(values[-1])


@pytest.mark.slow
def test_a_resumed_run_folds_and_tests_with_stock_mmdet(in_toy_root):
    import mmdet

    import train
    work_dir = in_toy_root / 'wd_fold_resume'
    opts = ['train_cfg.val_interval=100', 'train_dataloader.batch_size=4',
            'default_hooks.checkpoint.interval=10', 'param_scheduler.0.end=5',
            'visualizer.name=vis_fold_resume']
    args = [TOY_MASK_RCNN, '--work-dir', str(work_dir), '--cfg-options']
    train.build_runner(args + opts + ['train_cfg.max_iters=10']).train()
    train.build_runner(args + opts + ['train_cfg.max_iters=20'] +
                       ['--resume']).train()
    # the work dir's config of the resumed run: resume = True
    work_cfg = work_dir / osp.basename(TOY_MASK_RCNN)
    assert Config.fromfile(str(work_cfg)).resume is True
    ckpt = str(work_dir / 'iter_20.pth')
    out, out_cfg = in_toy_root / 'resumed.pth', in_toy_root / 'resumed.py'
    proc = run_tool([osp.join(TOOLS, 'fold_ws.py'), str(work_cfg), ckpt,
                     str(out), '--out-config', str(out_cfg)],
                    cwd=in_toy_root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    folded_cfg = Config.fromfile(str(out_cfg))
    assert folded_cfg.resume is False and folded_cfg.load_from is None
    meta = torch.load(out, weights_only=True)['meta']
    original = torch.load(ckpt, weights_only=True)['meta']
    assert meta['folded_ws_convs'] == 34
    assert meta['iter'] == original['iter'] == 20
    assert meta['dataset_meta']['classes'] == ('square', 'circle',
                                               'triangle')
    mmdet_test = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools',
                          'test.py')
    score = ['--cfg-options', 'model.test_cfg.rcnn.score_thr=0.0']
    stock = run_tool(['-c', WITHOUT_PLUGIN, mmdet_test, str(out_cfg),
                      str(out), '--work-dir', str(in_toy_root / 'wd_t1')] +
                     score, cwd=in_toy_root)
    assert stock.returncode == 0, stock.stdout[-3000:]
    assert 'mmdet_eps_l2 is hidden' not in stock.stdout
    ours = run_tool([osp.join(TOOLS, 'test.py'), str(work_cfg), ckpt,
                     '--work-dir', str(in_toy_root / 'wd_t2')] + score,
                    cwd=in_toy_root)
    assert ours.returncode == 0, ours.stdout[-3000:]
    unfolded = _bbox_map(ours.stdout)
    assert unfolded > 0  # a model that finds something
    assert abs(_bbox_map(stock.stdout) - unfolded) <= 0.002


@pytest.mark.slow
def test_fold_data_root_option_moves_every_split(toy_root, tmp_path,
                                                 monkeypatch):
    # the deployment config of a run elsewhere reads the data at DIR
    import fold_ws
    monkeypatch.chdir(tmp_path)
    cfg = fold_ws.load_tool_config(
        TOY_MASK_RCNN, {'data_root': str(toy_root / 'data' / 'toy_coco')})
    plain = fold_ws.deployment_config(cfg)
    new_root = str(toy_root / 'data' / 'toy_coco') + '/'
    assert plain.test_dataloader.dataset.data_root == new_root
    assert plain.test_evaluator.ann_file == \
        new_root + 'annotations/instances_val.json'


def test_strip_leaves_no_plugin_trace_in_a_pure_python_config():
    # Config.to_dict() writes a pure-Python config's classes as dotted paths
    import mmdet_eps_l2
    from fold_ws import deployment_config
    pure = osp.join(osp.dirname(mmdet_eps_l2.__file__), 'configs', 'toy',
                    'mask_rcnn_r18_c32_fpn_c64_gn_ws_all_eps_l2_toy_shapes.py')
    cfg = Config.fromfile(pure)
    cfg.work_dir = 'work_dirs/training_run'
    plain = deployment_config(cfg)
    text = repr(plain.to_dict())
    for name in ('WSConv2d', 'mmdet_eps_l2', 'EpsShiftedL2',
                 'WeightStatsHook', 'RNGStateHook', 'eps_l2'):
        assert name not in text, name
    assert plain.model.neck.conv_cfg is None
    assert plain.resume is False and plain.load_from is None
    assert 'work_dir' not in plain


#: a DINO small enough for a test (R-18-like WS backbone with 16 base
#: channels, one encoder and one decoder layer, 20 queries; DINO's decoder
#: needs embed dims 256) on mmdet's own config, with the plugin's
#: constructor, at a 128-px scale
TINY_DINO = """\
_base_ = '{base}'
custom_imports = dict(imports=['mmdet_eps_l2'], allow_failed_imports=False)
gn = dict(type='GN', num_groups=4, requires_grad=True)
ffn = dict(feedforward_channels=64)
model = dict(
    num_queries=20,
    backbone=dict(depth=18, base_channels=16, frozen_stages=-1,
                  norm_cfg=gn, norm_eval=False,
                  conv_cfg=dict(type='WSConv2d'), init_cfg=None),
    neck=dict(in_channels=[32, 64, 128]),
    encoder=dict(num_layers=1, layer_cfg=dict(ffn_cfg=ffn)),
    decoder=dict(num_layers=1, layer_cfg=dict(ffn_cfg=ffn)),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=10)),
    test_cfg=dict(max_per_img=20))
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                    'scale_factor')),
]
test_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                       dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(constructor='EpsShiftedL2OptimWrapperConstructor',
                     paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
visualizer = dict(name='vis_fold_dino')
"""

#: the keys DETR-family detectors write into their sub-configs when built
#: (Deformable DETR into ``bbox_head``, DINO also into ``dn_cfg``)
DETR_BUILD_KEYS = dict(
    bbox_head=('share_pred_layer', 'num_pred_layer', 'as_two_stage'),
    dn_cfg=('num_classes', 'embed_dims', 'num_matching_queries'))


def _detr_build_keys(model_cfg) -> list:
    return [f'{part}.{key}' for part, keys in DETR_BUILD_KEYS.items()
            for key in keys if key in model_cfg[part]]


@pytest.mark.slow
def test_a_folded_dino_config_runs_in_mmdets_test_tool(tmp_path,
                                                      monkeypatch):
    """DINO (and Deformable DETR) write keys into ``model.bbox_head`` and
    ``model.dn_cfg`` while they are built, and refuse them in a config.
    The folded config has none of them: mmdet's own ``tools/test.py``,
    without the plugin, tests the folded weights, and its predictions on
    the same images equal the unfolded model's."""
    import pickle

    import mmdet
    from mmengine.runner import Runner

    import fold_ws
    from toy_shapes import generate_toy_coco
    mim = osp.join(osp.dirname(mmdet.__file__), '.mim')
    monkeypatch.chdir(tmp_path)  # mmdet's data_root: data/coco/
    generate_toy_coco(str(tmp_path / 'data' / 'coco'), num_train=1,
                      num_val=4, image_size=128, seed=0, coco_layout=True)
    config = tmp_path / 'dino_tiny_ws.py'
    config.write_text(TINY_DINO.format(base=osp.join(
        mim, 'configs', 'dino', 'dino-4scale_r50_8xb2-12e_coco.py')))
    cfg = Config.fromfile(str(config))
    assert _detr_build_keys(cfg.model) == []
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    # the registry copies only the top level of a config: building from
    # cfg.model itself would leave the six keys in it
    built_from = copy.deepcopy(cfg.model)
    model = MODELS.build(built_from).eval()
    assert len(_detr_build_keys(built_from)) == 6
    n_ws = sum(isinstance(m, WSConv2d) for m in model.modules())
    assert n_ws == 20
    ckpt, out, out_cfg = (tmp_path / 'dino.pth', tmp_path / 'folded.pth',
                          tmp_path / 'folded.py')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    assert fold_ws.main([str(config), str(ckpt), str(out),
                         '--out-config', str(out_cfg)]) == 0
    folded_cfg = Config.fromfile(str(out_cfg))
    assert _detr_build_keys(folded_cfg.model) == []
    assert folded_cfg.model.backbone.conv_cfg is None
    # written from the file: every other model setting as the file has it
    cfg.model.backbone.conv_cfg = None
    assert folded_cfg.model.to_dict() == cfg.model.to_dict()

    dump = tmp_path / 'folded_predictions.pkl'
    proc = run_tool(['-c', WITHOUT_PLUGIN, osp.join(mim, 'tools', 'test.py'),
                     str(out_cfg), str(out), '--work-dir',
                     str(tmp_path / 'wd_test'), '--out', str(dump)],
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'mmdet_eps_l2 is hidden' not in proc.stdout
    assert 'coco/bbox_mAP' in proc.stdout
    with open(dump, 'rb') as f:
        folded_preds = pickle.load(f)

    # the unfolded model on the same images, through the same pipeline
    loader = Runner.build_dataloader(cfg.test_dataloader)
    expected = []
    with torch.no_grad():
        for batch in loader:
            expected.extend(model.test_step(batch))
    assert len(folded_preds) == len(expected) == 4
    # ŵ is what the WS conv convolves with: equal to the bit where measured;
    # the bounds leave room for another CPU's or thread count's rounding
    for got, want in zip(folded_preds, expected):
        assert got['img_id'] == want.img_id
        got, want = got['pred_instances'], want.pred_instances
        assert len(want.scores) == 20
        assert torch.equal(got['labels'], want.labels)
        assert torch.allclose(got['scores'], want.scores, rtol=0, atol=1e-6)
        assert torch.allclose(got['bboxes'], want.bboxes, rtol=0, atol=1e-4)
