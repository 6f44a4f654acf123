"""A new user's first hour: wrong exports refused, late failures moved to
the config check, shell tools that find the environment, one data root,
plots over resumed runs, the demo's report."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from helpers.toy import (ROOT, TOOLS, TOY_MASK_RCNN, TOY_RETINANET, run_tool,
                         scalars, short_run_options)

sys.path.insert(0, TOOLS)
sys.path.insert(0, osp.join(TOOLS, 'analysis'))
import demo  # noqa: E402  (tools/demo.py)
import plot_weight_stats  # noqa: E402
import train  # noqa: E402


def _save_model_checkpoint(config, path):
    """A checkpoint holding the freshly built model of ``config``."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model


# ------------------------------------------------------------ 1. fold_ws
@pytest.mark.slow
def test_fold_refuses_a_checkpoint_of_another_detector(tmp_path):
    ckpt = tmp_path / 'retinanet.pth'
    _save_model_checkpoint(TOY_RETINANET, ckpt)
    out = tmp_path / 'folded.pth'
    proc = run_tool([osp.join(TOOLS, 'fold_ws.py'), TOY_MASK_RCNN,
                     str(ckpt), str(out)], cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert 'does not match the model' in proc.stdout
    assert 'nothing written' in proc.stdout
    # counted, the first few named (the toy RetinaNet's FPN starts at C3
    # and adds two levels; it has no RPN, RoI heads)
    assert '37 model key(s) missing from the checkpoint: ' \
        'neck.lateral_convs.3.conv.weight, neck.lateral_convs.3.gn.weight, ' \
        'neck.lateral_convs.3.gn.bias, ... (34 more)' in proc.stdout
    assert '19 checkpoint key(s) not in the model: ' \
        'neck.fpn_convs.4.conv.weight' in proc.stdout
    assert '4 key(s) with another shape: neck.lateral_convs.0.conv.weight ' \
        '(checkpoint [64, 64, 1, 1], model [64, 32, 1, 1])' in proc.stdout
    assert '--allow-partial' in proc.stdout
    assert 'Traceback' not in proc.stdout
    assert not out.exists()


@pytest.mark.slow
def test_fold_allow_partial_exports_and_lists_what_it_skipped(tmp_path):
    ckpt = tmp_path / 'retinanet.pth'
    _save_model_checkpoint(TOY_RETINANET, ckpt)
    out = tmp_path / 'folded.pth'
    proc = run_tool([osp.join(TOOLS, 'fold_ws.py'), TOY_MASK_RCNN,
                     str(ckpt), str(out), '--allow-partial'], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert '--allow-partial: loading only the matching keys' in proc.stdout
    assert 'folded 34 WS convs' in proc.stdout
    assert out.is_file()


def test_state_dict_match_counts_each_kind():
    from mmdet_eps_l2.utils import match_state_dict
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    state = {
        '0.weight': torch.zeros(3, 2),  # matches
        '0.bias': torch.zeros(4),  # other shape
        'extra': torch.zeros(1),  # not in the model
    }  # 1.weight, 1.bias missing
    match = match_state_dict(model, state)
    assert match.missing == ['1.weight', '1.bias']
    assert match.unexpected == ['extra']
    assert match.mismatched == [('0.bias', (4, ), (3, ))]
    assert not match.exact
    assert match.describe().splitlines() == [
        '2 model key(s) missing from the checkpoint: 1.weight, 1.bias',
        '1 checkpoint key(s) not in the model: extra',
        '1 key(s) with another shape: 0.bias (checkpoint [4], model [3])',
    ]
    assert match_state_dict(model, model.state_dict()).exact


# ------------------------------------------------------- 2. --amp on CPU
@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU behaviour')
def test_amp_on_cpu_is_refused_before_a_work_dir(in_toy_root):
    work_dir = in_toy_root / 'wd_amp'
    with pytest.raises(SystemExit) as e:
        train.build_runner([TOY_MASK_RCNN, '--amp', '--work-dir',
                            str(work_dir)])
    message = str(e.value)
    assert "optim_wrapper.type is 'AmpOptimWrapper' (--amp)" in message
    assert 'found: cpu' in message and 'drop --amp' in message
    assert not work_dir.exists()


# -------------------------------------------- 3. shell tools find Python
def _run_shell(args, env):
    return subprocess.run(['bash'] + args, cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)


@pytest.mark.slow
def test_dist_train_says_what_to_do_without_a_usable_python(tmp_path):
    env = dict(PATH='/usr/bin:/bin', PYTHON='/bin/false')
    for script, args in (('dist_train.sh', ['c.py', '1']),
                         ('dist_test.sh', ['c.py', 'c.pth', '1']),
                         ('slurm_train.sh', ['p', 'j', 'c.py', 'w'])):
        proc = _run_shell([osp.join('tools', script)] + args, env)
        assert proc.returncode == 2, proc.stdout
        assert f'{script}: /bin/false cannot import torch, mmengine and ' \
            'mmdet' in proc.stdout
        assert 'set PYTHON=/path/to/python' in proc.stdout
    proc = _run_shell(['tools/dist_train.sh'], env)
    assert proc.returncode == 2
    assert 'usage: bash tools/dist_train.sh CONFIG GPUS' in proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    not osp.isfile(osp.join(ROOT, '.venv', 'bin', 'python')),
    reason='needs the project environment made by make install')
def test_dist_train_uses_the_project_environment_when_not_activated(
        tmp_path):
    # no PYTHON, no virtual environment on PATH: the script must still
    # reach tools/train.py (which then names the missing config)
    env = dict(PATH='/usr/bin:/bin', HOME=str(tmp_path),
               OMP_NUM_THREADS='1')
    proc = _run_shell(['tools/dist_train.sh', 'no_such_config.py', '1'],
                      env)
    assert 'train: config file not found: no_such_config.py' in proc.stdout
    assert 'Error while finding module specification' not in proc.stdout


# ----------------------------------------------------- 4. one data root
@pytest.mark.slow
def test_relative_data_root_message_names_the_current_directory(tmp_path,
                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        train.build_runner([TOY_MASK_RCNN, '--work-dir',
                            str(tmp_path / 'wd')])
    message = str(e.value)
    # the missing root is named once, not again for each split and file
    assert message.count('does not exist') == 1
    assert 'train_dataloader.dataset.data_root: data/toy_coco/ does not ' \
        'exist' in message
    assert f'relative paths are taken from the current directory ' \
        f'({tmp_path})' in message
    assert '--cfg-options data_root=' in message
    assert not (tmp_path / 'wd').exists()


@pytest.mark.slow
def test_data_root_option_moves_every_split_and_evaluator(toy_root, tmp_path,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)  # not where the data is
    new_root = str(toy_root / 'data' / 'toy_coco')  # no trailing slash
    args = train.parse_args([TOY_MASK_RCNN, '--cfg-options',
                             f'data_root={new_root}'])
    cfg = train.build_cfg(args)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[split].dataset.data_root == new_root + '/'
    for split in ('val_evaluator', 'test_evaluator'):
        assert cfg[split].ann_file == \
            new_root + '/annotations/instances_val.json'
    from mmdet_eps_l2.checks import check_config
    check_config(cfg)  # every path exists


def test_retarget_data_root_keeps_explicit_other_roots():
    from mmdet_eps_l2.utils import retarget_data_root
    shared = dict(data_root='a/', ann_file='x.json')
    cfg = dict(
        data_root='b/',
        train=dict(dataset=dict(data_root='a/', ann_file='ann.json')),
        val=shared,
        test=shared,  # one object reached twice is moved once
        other=dict(data_root='elsewhere/'),
        evaluator=dict(ann_file='a/annotations/val.json'))
    assert retarget_data_root(cfg, 'a/', 'new') == 3
    assert cfg['train']['dataset']['data_root'] == 'new/'
    assert cfg['val'] == dict(data_root='new/', ann_file='x.json')
    assert cfg['other']['data_root'] == 'elsewhere/'
    assert cfg['evaluator']['ann_file'] == 'new/annotations/val.json'
    assert cfg['data_root'] == 'b/'  # the caller sets the top-level key


# ------------------------------------------- 5. plots over resumed runs
def _write_run(work_dir, stamp, steps):
    path = work_dir / stamp / 'vis_data'
    path.mkdir(parents=True)
    with open(path / 'scalars.json', 'w') as f:
        for step in steps:
            f.write(json.dumps({'loss': 1.0, 'step': step}) + '\n')
            f.write(json.dumps({
                'ws/neck/sigma_median': float(step),
                'ws/neck/sigma_min': step / 2,
                'ws/neck/sigma_max': step * 2.,
                'step': step
            }) + '\n')


def test_plot_reads_every_run_of_a_resumed_work_dir(tmp_path):
    work_dir = tmp_path / 'wd'
    _write_run(work_dir, '20260101_000000', [10, 20, 30])
    # resumed from the checkpoint at 20: step 30 again, then 40
    _write_run(work_dir, '20260101_010000', [30, 40])
    (work_dir / '20260101_020000' / 'vis_data').mkdir(parents=True)
    (work_dir / '20260101_020000' / 'vis_data' / 'scalars.json').write_text(
        json.dumps({'loss': 1.0, 'step': 1}) + '\n')
    lines = []
    series = plot_weight_stats.load_weight_stats(str(work_dir), lines.append)
    assert series['neck']['sigma_median'] == [(10, 10.), (20, 20.), (30, 30.),
                                              (40, 40.)]
    assert series['neck']['sigma_min'][-1] == (40, 20.)
    assert lines == [
        f'{work_dir}: run 20260101_000000: 3 logged iterations (10-30)',
        f'{work_dir}: run 20260101_010000: 2 logged iterations (30-40)',
        f'{work_dir}: run 20260101_020000: skipped, no ws/* scalars',
    ]


# ------------------------------------------------------------ 6. demo
@pytest.mark.slow
def test_demo_reports_the_runs_eps_and_a_run_without_metrics(
        toy_root, tmp_path, capsys):
    opts = short_run_options(2, val=False) + [
        'optim_wrapper.paramwise_cfg.eps_l2.eps=0.02',
        'visualizer.name=vis_demo_short'
    ]
    code = demo.main([
        '--work-dir', str(tmp_path / 'wd_demo'), '--data-root',
        str(toy_root / 'data' / 'toy_coco'), '--cfg-options', *opts
    ])
    out = capsys.readouterr().out
    assert code == 1
    assert 'eps-shifted L2 (eps=0.02)' in out
    assert 'holds no COCO metrics: the run ended before its first ' \
        'evaluation' in out


# ------------------------------------------- 7. messages, not tracebacks
@pytest.mark.slow
def test_bad_hook_argument_is_refused_before_a_work_dir(in_toy_root):
    work_dir = in_toy_root / 'wd_hook'
    with pytest.raises(SystemExit) as e:
        train.build_runner([
            TOY_MASK_RCNN, '--work-dir',
            str(work_dir), '--cfg-options', 'custom_hooks.0.interval=0'
        ])
    assert 'custom_hooks[0] (WeightStatsHook): WeightStatsHook interval ' \
        'must be an int >= 1, got 0' in str(e.value)
    assert not work_dir.exists()


@pytest.mark.slow
def test_launcher_pytorch_without_torchrun_is_a_message(in_toy_root,
                                                        monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    work_dir = in_toy_root / 'wd_launcher'
    with pytest.raises(SystemExit) as e:
        train.build_runner([TOY_MASK_RCNN, '--work-dir', str(work_dir),
                            '--launcher', 'pytorch'])
    assert str(e.value) == (
        "train: --launcher pytorch: environment variables ['RANK', "
        "'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'] are not set; start "
        'with torchrun or tools/dist_train.sh, or train without --launcher')
    assert not work_dir.exists()


# -------------------------------------------------------------- 8. noise
@pytest.mark.slow
def test_a_short_run_logs_what_a_user_needs_once(in_toy_root):
    work_dir = in_toy_root / 'wd_quiet'
    proc = run_tool([
        osp.join(TOOLS, 'train.py'), TOY_MASK_RCNN, '--work-dir',
        str(work_dir), '--cfg-options', *short_run_options(2, val=False)
    ], cwd=in_toy_root)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:]
    # kept: the check, environment, config, the group table, losses, the
    # σ line
    for kept in ('checked the config, the model and the data of train',
                 'System environment:', 'Config:',
                 'parameter groups (weight_decay: what the optimizer applies',
                 'Iter(train) [2/2]', 'ws iter 2: sigma min '):
        assert kept in out, kept
    for dropped in ('pkg_resources', 'Traceback'):
        assert dropped not in out, dropped
    # every ws/ value is written once per logged step, by the hook only
    records = [r for r in scalars(str(work_dir))]
    with_ws = [r['step'] for r in records
               if any(k.startswith('ws/') for k in r)]
    assert with_ws == [1, 2]
    assert not any(k.startswith('train/') for r in records for k in r)


CHECK = osp.join(TOOLS, 'check.py')


def test_the_check_names_a_conv_type_typo(in_toy_root):
    proc = run_tool([CHECK, TOY_MASK_RCNN, '--cfg-options',
                     'model.neck.conv_cfg.type=WSConv2D'], cwd=in_toy_root)
    assert proc.returncode == 1
    # before mmcv's "KeyError: 'Cannot find None in registry'" could happen
    assert "model.neck.conv_cfg: unknown conv type 'WSConv2D'" in proc.stdout
    assert 'Traceback' not in proc.stdout


def test_the_check_names_a_data_root_typo(in_toy_root):
    config = in_toy_root / 'typo.py'
    config.write_text(f"_base_ = '{TOY_MASK_RCNN}'\n"
                      "train_dataloader = dict(dataset=dict("
                      "data_root='data/toy_cocco/'))\n")
    proc = run_tool([CHECK, str(config)], cwd=in_toy_root)
    assert proc.returncode == 1
    assert 'train_dataloader.dataset.data_root: data/toy_cocco/ does not ' \
        'exist' in proc.stdout
    assert not (in_toy_root / 'work_dirs').exists()


def test_the_check_reads_only_the_annotations_its_entry_reads(
        in_toy_root, tmp_path):
    """A broken training file: ``--test`` passes, training is refused."""
    import shutil
    data = tmp_path / 'data'
    shutil.copytree(in_toy_root / 'data' / 'toy_coco', data)
    (data / 'annotations' / 'instances_train.json').write_text('{"images": ')
    options = ['--cfg-options', f'data_root={data}/']
    proc = run_tool([CHECK, TOY_MASK_RCNN, '--test', *options],
                    cwd=in_toy_root)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert 'checked the config, the model and the data of test' in \
        proc.stdout
    proc = run_tool([CHECK, TOY_MASK_RCNN, *options], cwd=in_toy_root)
    assert proc.returncode == 1
    assert 'instances_train.json is not valid JSON' in proc.stdout


# ------------------------ 8. what the built model shows, as a message too
def _toy_cfg_with(**changes):
    from mmengine.registry import init_default_scope

    import mmdet_eps_l2  # noqa: F401
    init_default_scope('mmdet')
    cfg = Config.fromfile(TOY_MASK_RCNN)
    cfg.merge_from_dict(changes)
    return cfg


@pytest.mark.parametrize('conv_cfg, floor', [
    (dict(type='ConvAWS'), '0.03162'),
    (dict(type='WSConv2d', convention='timm', eps=1e-8), '0.001'),
])
def test_an_eps_below_a_ws_convs_floor_is_refused_by_the_config_check(
        conv_cfg, floor):
    from mmdet.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

    from mmdet_eps_l2.checks import ConfigCheckError, check_config
    cfg = _toy_cfg_with(**{'model.backbone.conv_cfg': conv_cfg,
                           'optim_wrapper.paramwise_cfg.eps_l2.eps': 1e-4})
    with pytest.raises(ConfigCheckError) as e:
        check_config(cfg, check_paths=False)
    assert str(e.value) == (
        'config check failed:\n  - optim_wrapper.paramwise_cfg.eps_l2.'
        f'eps=0.0001 is below {floor}, the smallest eps the shift accepts '
        'on the WS conv of model.backbone.conv_cfg: it standardizes with '
        'sqrt(var + e), scale-invariant only while the filter std is well '
        f'above sqrt(e). Use eps >= {floor}, or WSConv2d with '
        "convention='mmcv' there")
    # the constructor, on the built model, draws the same line
    model = MODELS.build(cfg.model)
    optim = dict(cfg.optim_wrapper)
    paramwise = optim.pop('paramwise_cfg')
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.get(optim.pop('constructor'))
    with pytest.raises(ValueError, match=f'Use eps >= {floor}'):
        constructor(optim, paramwise)(model)
    paramwise.eps_l2.eps = float(floor) * 1.001
    check_config(cfg, check_paths=False)
    constructor(optim, paramwise)(model)


def test_a_missing_optimizer_is_named_by_the_config_check():
    from mmdet_eps_l2.checks import ConfigCheckError, check_config
    cfg = _toy_cfg_with()
    del cfg.optim_wrapper['optimizer']
    with pytest.raises(ConfigCheckError) as e:
        check_config(cfg, check_paths=False)
    assert str(e.value) == (
        'config check failed:\n  - optim_wrapper.optimizer is missing: name '
        "the optimizer, e.g. optimizer=dict(type='SGD', lr=0.02, "
        'momentum=0.9, weight_decay=1e-4)')


@pytest.mark.slow
def test_a_frozen_ws_backbone_stops_training_with_a_message(in_toy_root):
    """WS convs in the backbone only, all of it frozen: only the built
    model shows that no WS weight trains; train.py says so, without a
    traceback, before the first iteration."""
    config = in_toy_root / 'frozen_ws.py'
    config.write_text(
        f'_base_ = [{TOY_MASK_RCNN!r}]\n'
        'model = dict(backbone=dict(frozen_stages=4), '
        'neck=dict(conv_cfg=None), roi_head=dict(bbox_head=dict('
        'conv_cfg=None), mask_head=dict(conv_cfg=None)))\n')
    work_dir = in_toy_root / 'wd_frozen'
    proc = run_tool([osp.join(TOOLS, 'train.py'), str(config), '--work-dir',
                     str(work_dir)], cwd=in_toy_root)
    assert proc.returncode == 1, proc.stdout[-3000:]
    last = proc.stdout.strip().splitlines()
    assert 'Traceback' not in proc.stdout, proc.stdout[-3000:]
    assert last[-2] == f'train: {config}: config check failed:'
    assert last[-1].startswith(
        '  - optim_wrapper: paramwise_cfg.eps_l2 is set but the model has no '
        'trainable weight-standardized conv')
    assert not glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))


def test_a_multi_optimizer_wrapper_is_not_taken_for_a_missing_optimizer():
    from mmengine.config import ConfigDict

    from mmdet_eps_l2.checks.config import _check_optimizer
    generator = dict(optimizer=dict(type='Adam', lr=1e-4))
    multi = ConfigDict(optim_wrapper=dict(
        constructor='MultiOptimWrapperConstructor', generator=generator,
        discriminator=generator))
    assert _check_optimizer(multi) == []
    ours = ConfigDict(optim_wrapper=dict(
        constructor='EpsShiftedL2OptimWrapperConstructor',
        paramwise_cfg=dict(eps_l2=dict(eps=1e-3))))
    assert _check_optimizer(ours) == [
        'optim_wrapper.optimizer is missing: name the optimizer, e.g. '
        "optimizer=dict(type='SGD', lr=0.02, momentum=0.9, "
        'weight_decay=1e-4)']


def test_an_unused_sac_config_has_no_eps_floor():
    """DetectoRS's ResNet keeps ``sac=dict(type='SAC')`` with
    ``stage_with_sac`` all False: no SAC conv is built, nothing to refuse."""
    from mmdet_eps_l2.checks.config import _check_shift_eps_floor
    cfg = _toy_cfg_with(**{'model.backbone.sac': dict(type='SAC'),
                           'model.backbone.stage_with_sac':
                           (False, False, False, False)})
    assert _check_shift_eps_floor(cfg) == []
    cfg.model.backbone.stage_with_sac = (False, False, False, True)
    assert len(_check_shift_eps_floor(cfg)) == 1
    assert 'the WS conv of model.backbone.sac' in \
        _check_shift_eps_floor(cfg)[0]
