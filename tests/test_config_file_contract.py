"""mmengine's contract as a config file gives it: every object here is
built from a file (``Config.fromfile``, ``Runner.from_cfg``), as
``tools/train.py`` builds them."""
import logging

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from helpers.tiny_ws import TinyWSClassifier, write_tiny_config
from mmdet_eps_l2.ops.param_groups import is_shifted


def _runner(tmp_path, extra='', name='cfg.py', **overrides):
    cfg = Config.fromfile(write_tiny_config(tmp_path / name, extra))
    cfg.work_dir = str(tmp_path / 'work')
    # one logger (and log file) per runner, whatever the clock says
    cfg.experiment_name = f'{tmp_path.name}_{name}'
    cfg.merge_from_dict(overrides)
    return Runner.from_cfg(cfg)


#: a checkpoint at iteration 2 of 2
SAVE = ("default_hooks = dict(logger=dict(type='LoggerHook', interval=1), "
        "checkpoint=dict(type='CheckpointHook', interval=2, "
        "by_epoch=False))\ntrain_cfg.update(max_iters=2)\n")


def _train_then_resume(tmp_path, save, changes=''):
    """Train ``save`` 2 iterations, then resume from its checkpoint for a
    third with ``changes``; the resumed runner and its log."""
    _runner(tmp_path, save).train()
    checkpoint = tmp_path / 'work' / 'iter_2.pth'
    assert checkpoint.is_file()
    runner = _runner(tmp_path, save + 'train_cfg.update(max_iters=3)\n' +
                     changes, name='resume.py', resume=True,
                     load_from=str(checkpoint))
    runner.train()
    return runner, open(runner.logger.log_file).read()


def _probe(runner):
    (probe, ) = [h for h in runner.hooks
                 if type(h).__name__ == 'ShiftLambdaProbe']
    return probe


def test_param_groups_from_a_config_file_are_plain_dicts(tmp_path):
    cfg = Config.fromfile(write_tiny_config(tmp_path / 'cfg.py'))
    assert type(cfg.optim_wrapper).__name__ == 'ConfigDict'
    wrapper = build_optim_wrapper(TinyWSClassifier(), cfg.optim_wrapper)
    groups = wrapper.optimizer.param_groups
    assert len(groups) == 2 and sum(map(is_shifted, groups)) == 1
    assert all(type(g) is dict for g in groups)


@pytest.mark.parametrize('custom,lam', [
    (dict(weight_decay=0.), 0.),
    (dict(decay_mult=0.5), 5e-3),
])
def test_custom_keys_weight_decay_on_a_ws_weight_is_its_lambda(
        tmp_path, custom, lam):
    extra = ("optim_wrapper.update(paramwise_cfg=dict(custom_keys="
             f"{{'conv1': {custom!r}}}, eps_l2=dict(eps=1e-2)))\n")
    cfg = Config.fromfile(write_tiny_config(tmp_path / 'cfg.py', extra))
    model = TinyWSClassifier()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    by_param = {id(p): g for g in wrapper.optimizer.param_groups
                for p in g['params']}
    conv1, conv2 = by_param[id(model.conv1.weight)], \
        by_param[id(model.conv2.weight)]
    assert (conv1['weight_decay'], conv1['eps_l2_eps']) == (lam, 1e-2)
    assert (conv2['weight_decay'], conv2['eps_l2_eps']) == (1e-2, 1e-2)


SCHEDULE = """
param_scheduler = [dict(type='MultiStepParamScheduler',
                        param_name='weight_decay', milestones=[2],
                        gamma=0.1, by_epoch=False)]
custom_hooks = [dict(type='ShiftLambdaProbe')]
model.update(zero_loss=True)
"""


@pytest.mark.parametrize('optimizer,mode,fused', [
    ("dict(type='SGD', lr=0.1, weight_decay=0.05)", None, True),
    ("dict(type='SGD', lr=0.1, weight_decay=0.05)", 'decoupled', False),
    ("dict(type='AdamW', lr=0.01, weight_decay=0.05)", None, True),
    ("dict(type='AdamW', lr=0.01, weight_decay=0.05)", 'coupled', False),
])
def test_a_weight_decay_schedule_moves_lambda_in_every_mode(
        tmp_path, optimizer, mode, fused):
    eps_l2 = f'dict(eps=1e-2, mode={mode!r})' if mode else 'dict(eps=1e-2)'
    extra = SCHEDULE + (f'optim_wrapper.update(optimizer={optimizer}, '
                        f'paramwise_cfg=dict(eps_l2={eps_l2}))\n')
    runner = _runner(tmp_path, extra)
    runner.train()
    seen = _probe(runner).seen
    # (λ of the shift, weight_decay the optimizer's update applies)
    applied = [5e-2, 5e-2, 5e-3, 5e-3] if fused else [0.] * 4
    assert [s[0][0] for s in seen] == pytest.approx([5e-2, 5e-2, 5e-3, 5e-3],
                                                    rel=1e-12)
    assert [s[0][1] for s in seen] == pytest.approx(applied, rel=1e-12)
    group = [g for g in runner.optim_wrapper.optimizer.param_groups
             if is_shifted(g)][0]
    assert group['weight_decay'] == pytest.approx(5e-3, rel=1e-12)
    assert 'eps_l2_held_weight_decay' not in group


def test_a_zero_weight_decay_schedule_stops_the_shift(tmp_path):
    """gamma 0 from iteration 2 on, zero loss gradient, SGD without
    momentum in the non-native decoupled mode: the weights move in the
    first two steps only."""
    extra = SCHEDULE.replace('gamma=0.1', 'gamma=0.') + (
        "optim_wrapper.update(optimizer=dict(type='SGD', lr=0.1, "
        "weight_decay=0.05), paramwise_cfg=dict(eps_l2=dict(eps=1e-2, "
        "mode='decoupled')))\ntrain_cfg.update(max_iters=2)\n")
    runner = _runner(tmp_path, extra)
    runner.train()
    after_two = runner.model.conv1.weight.detach().clone()
    runner = _runner(tmp_path, extra, name='cfg4.py',
                     train_cfg=dict(max_iters=4))
    runner.train()
    assert not torch.equal(after_two, TinyWSClassifier().conv1.weight)
    assert torch.equal(runner.model.conv1.weight, after_two)


def test_mmengines_duplicate_warning_is_printed(tmp_path, capsys):
    extra = (
             "optim_wrapper.update(paramwise_cfg=dict(bypass_duplicate=True,"
             " eps_l2=dict(eps=1e-2)))\n")
    cfg = Config.fromfile(write_tiny_config(tmp_path / 'cfg.py', extra))
    model = TinyWSClassifier()
    model.head = torch.nn.Linear(8, 2)
    model.head.weight = model.fc.weight
    logger = MMLogger.get_instance('duplicate_probe', log_level='INFO')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        build_optim_wrapper(model, cfg.optim_wrapper)
    finally:
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in records
                if r.levelno == logging.WARNING]
    assert warnings == ['head is duplicate. It is skipped since '
                        'bypass_duplicate=True']


def test_resume_with_another_eps_says_which_eps_the_steps_use(tmp_path):
    runner, log = _train_then_resume(
        tmp_path, SAVE,
        "optim_wrapper.update(paramwise_cfg=dict(eps_l2=dict(eps=5e-3)))\n")
    assert log.count('resumed optimizer state') == 1
    assert ("the steps use the checkpoint's eps=0.01 lambda=0.01 coupled in "
            "parameter group 0, not the config's eps=0.005 lambda=0.01 "
            'coupled') in log
    group = runner.optim_wrapper.optimizer.param_groups[0]
    assert group['eps_l2_eps'] == 1e-2
    # the group table, logged before training, shows what the steps use
    table = log[log.index('parameter groups (weight_decay'):]
    assert 'eps=0.01 lambda=0.01 coupled' in table.split('\n')[2]


def test_no_resume_line_when_nothing_changed(tmp_path):
    _, log = _train_then_resume(tmp_path, SAVE)
    assert 'resumed optimizer state' not in log


def test_the_group_table_shows_the_lr_after_auto_scale_lr(tmp_path):
    extra = "auto_scale_lr = dict(enable=True, base_batch_size=2)\n"
    runner = _runner(tmp_path, extra)
    runner.train()
    log = open(runner.logger.log_file).read()
    table = log[log.index('parameter groups (weight_decay'):].split('\n')
    # batch 4 (one process) against a base of 2: lr 0.1 → 0.2
    assert table[2].split()[3] == '0.2' and table[3].split()[3] == '0.2'


def test_no_resume_line_for_a_weight_decay_schedule_in_progress(tmp_path):
    """The checkpoint's λ is where the schedule had taken it: not a
    difference from the config."""
    runner, log = _train_then_resume(
        tmp_path, SAVE + "param_scheduler = [dict(type='CosineAnnealing"
        "ParamScheduler', param_name='weight_decay', T_max=4, "
        'by_epoch=False)]\n')
    assert 'resumed optimizer state' not in log
    group = runner.optim_wrapper.optimizer.param_groups[0]
    assert 0 < group['weight_decay'] < 1e-2  # the schedule went on


def test_a_state_with_lambda_beside_a_zero_weight_decay_resumes_lambda():
    """Groups saved with λ under ``eps_l2_weight_decay`` and weight_decay 0
    (the optimizer's update without λ·w) resume with that λ."""
    from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor
    build = EpsShiftedL2OptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-2)),
        dict(eps_l2=dict(eps=1e-2, mode='decoupled')))
    saved = build(TinyWSClassifier()).optimizer.state_dict()
    (ws, other) = saved['param_groups']
    ws.update(weight_decay=0., eps_l2_weight_decay=3e-3)
    optimizer = build(TinyWSClassifier()).optimizer
    optimizer.load_state_dict(saved)
    groups = optimizer.param_groups
    assert (groups[0]['weight_decay'], groups[0]['eps_l2_fused']) == (3e-3,
                                                                     False)
    assert 'eps_l2_weight_decay' not in groups[0]
    assert groups[1]['weight_decay'] == 1e-2
