"""WeightStatsHook logs the exact statistics; the plot tool draws them."""
import json
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from helpers.toy import ROOT, TOOLS, run_tool
from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor
from mmdet_eps_l2.models import WSConv2d
from mmdet_eps_l2.hooks import WeightStatsHook
from mmdet_eps_l2.ops import eps_shifted_l2_grad

PLOT = osp.join(TOOLS, 'analysis', 'plot_weight_stats.py')


class HandSet(nn.Module):
    """backbone.layer1.0.conv: filters [1, 3] and [0, 0.0015]; neck.conv:
    one filter [2, 2, 2, 6]."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.layer1 = nn.Sequential(nn.Module())
        self.backbone.layer1[0].conv = WSConv2d(2, 2, 1, bias=False)
        self.neck = nn.Module()
        self.neck.conv = WSConv2d(4, 1, 1, bias=False)
        with torch.no_grad():
            self.backbone.layer1[0].conv.weight.copy_(
                torch.tensor([[1., 3.], [0., 0.0015]]).view(2, 2, 1, 1))
            self.neck.conv.weight.copy_(
                torch.tensor([2., 2., 2., 6.]).view(1, 4, 1, 1))


class Recorder:

    def __init__(self):
        self.calls = []
        self.lines = []

    def add_scalars(self, scalars, step):
        self.calls.append((step, dict(scalars)))

    def info(self, line):
        self.lines.append(line)


def make(lr, lam, eps=1e-3):
    model = HandSet().double()
    wrapper = EpsShiftedL2OptimWrapperConstructor(
        dict(type='OptimWrapper',
             optimizer=dict(type='SGD', lr=lr, weight_decay=lam)),
        dict(eps_l2=dict(eps=eps)))(model)
    runner = SimpleNamespace(
        model=model, optim_wrapper=wrapper, iter=0,
        message_hub=MessageHub.get_instance(f'ws_test_{lr}_{lam}'),
        visualizer=Recorder(), logger=Recorder())
    hook = WeightStatsHook(interval=2)
    hook.before_train(runner)
    return model, wrapper, runner, hook


def run_iter(hook, runner, wrapper, it):
    runner.iter = it
    hook.before_train_iter(runner, it)
    wrapper.step()
    hook.after_train_iter(runner, it)


def test_logs_exact_sigma_and_effective_lr_and_is_silent_between():
    model, wrapper, runner, hook = make(lr=0.1, lam=0.)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # λ = 0, zero gradient: weights fixed
    run_iter(hook, runner, wrapper, 0)
    assert runner.visualizer.calls == []  # silent between intervals
    assert runner.message_hub.log_scalars == {}
    run_iter(hook, runner, wrapper, 1)
    ((step, stats), ) = runner.visualizer.calls
    assert step == 2
    s1, s2 = math.sqrt(2.), 0.0015 / math.sqrt(2.)
    s_neck = 2.0  # values 2, 2, 2, 6: mean 3, Σ(w-μ)² = 12, n-1 = 3
    expected = {
        'ws/backbone.layer1/sigma_min': s2,
        'ws/backbone.layer1/sigma_median': s2,  # lower median of two
        'ws/backbone.layer1/sigma_max': s1,
        'ws/backbone.layer1/near_eps_frac': 0.5,  # |σ - ε| <= 0.1 ε
        'ws/backbone.layer1/eff_lr_median': 0.1 / s1**2,
        'ws/neck/sigma_min': s_neck,
        'ws/neck/sigma_median': s_neck,
        'ws/neck/sigma_max': s_neck,
        'ws/neck/near_eps_frac': 0.0,
        'ws/neck/eff_lr_median': 0.1 / s_neck**2,
        'ws/backbone.layer1/task_grad_norm': 0.0,
        'ws/backbone.layer1/reg_grad_norm': 0.0,
        'ws/neck/task_grad_norm': 0.0,
        'ws/neck/reg_grad_norm': 0.0,
    }
    cost = stats.pop('weight_stats_hook/time_s')
    assert 0 < cost < 1.0
    assert set(stats) == set(expected)
    for key, value in expected.items():
        assert stats[key] == pytest.approx(value, rel=1e-6), key
        assert runner.message_hub.get_scalar(key).current() == \
            pytest.approx(value, rel=1e-6)
    # before training, the group table; then one text line: σ over all 3
    # filters, min and (lower) median, and the fraction near ε
    table = runner.logger.lines.pop(0)
    assert table.startswith('parameter groups (weight_decay: what the '
                            'optimizer applies;')
    assert runner.logger.lines == [
        f'ws iter 2: sigma min {s2:.4g} median {s1:.4g} over 3 WS filters, '
        'near eps 0.333']


def test_gradient_norms_are_the_loss_part_and_the_regularizer_part():
    model, wrapper, runner, hook = make(lr=0., lam=0.5)
    torch.manual_seed(0)
    grads = {n: torch.randn_like(p) for n, p in model.named_parameters()}
    for n, p in model.named_parameters():
        p.grad = grads[n].clone()
    run_iter(hook, runner, wrapper, 1)
    ((_, stats), ) = runner.visualizer.calls
    bb = 'backbone.layer1.0.conv.weight'
    w = dict(model.named_parameters())[bb]
    assert stats['ws/backbone.layer1/task_grad_norm'] == pytest.approx(
        float(grads[bb].norm()), rel=1e-12)
    assert stats['ws/backbone.layer1/reg_grad_norm'] == pytest.approx(
        float(eps_shifted_l2_grad(w, 1e-3, 0.5).norm()), rel=1e-12)
    # the hook read the gradient before the shift was added to it (SGD's
    # own weight_decay adds the λ·w part inside its update)
    assert torch.allclose(w.grad, grads[bb] + eps_shifted_l2_grad(
        w, 1e-3, 0.5) - 0.5 * w.detach(), rtol=1e-12, atol=1e-15)


def test_bad_interval_is_refused():
    with pytest.raises(ValueError, match='interval'):
        WeightStatsHook(interval=0)


def _write_scalars(work_dir, sigma0, decay):
    """A work dir with the scalars WeightStatsHook logs, for two groups."""
    path = work_dir / '20260101_000000' / 'vis_data'
    path.mkdir(parents=True)
    with open(path / 'scalars.json', 'w') as f:
        for step in range(1, 21):
            record = {'step': step}
            for group in ('backbone', 'neck'):
                sigma = sigma0 * decay**step
                record.update({
                    f'ws/{group}/sigma_median': sigma,
                    f'ws/{group}/sigma_min': sigma / 2,
                    f'ws/{group}/sigma_max': sigma * 2,
                    f'ws/{group}/eff_lr_median': 0.02 / sigma**2,
                })
            f.write(json.dumps(record) + '\n')


def test_plot_draws_the_logged_values_of_each_run(tmp_path, monkeypatch):
    """Each run's line is its logged median σ (and lr/σ²) at its steps; the
    band spans min-max; ε is drawn."""
    import sys

    import matplotlib
    matplotlib.use('Agg')
    import numpy as np
    from matplotlib.figure import Figure
    sys.path.insert(0, osp.dirname(PLOT))
    from plot_weight_stats import load_weight_stats, plot

    saved = []
    original = Figure.savefig

    def keep(fig, *args, **kwargs):
        saved.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, 'savefig', keep)
    runs = {}
    for label, decay in (('plain decay', 0.9), ('eps-shifted', 0.99)):
        _write_scalars(tmp_path / label, 0.05, decay)
        runs[label] = load_weight_stats(str(tmp_path / label),
                                        report=lambda line: None)
    written = plot(runs, str(tmp_path / 'plots'), eps=1e-3)
    assert [osp.basename(p) for p in written] == ['sigma.png', 'eff_lr.png']
    steps = np.arange(1, 21)
    for fig, stat in zip(saved, ('sigma', 'eff_lr')):
        for ax, group in zip(fig.axes, ('backbone', 'neck')):
            assert ax.get_title() == group
            lines = {line.get_label(): line.get_data()
                     for line in ax.get_lines()}
            for label, decay in (('plain decay', 0.9), ('eps-shifted',
                                                        0.99)):
                sigma = 0.05 * decay**steps
                expected = sigma if stat == 'sigma' else 0.02 / sigma**2
                x, y = lines[label]
                assert list(x) == list(steps)
                np.testing.assert_allclose(y, expected, rtol=1e-12)
            if stat == 'sigma':
                assert list(lines['ε = 0.001'][1]) == [1e-3, 1e-3]
                band = ax.collections[0].get_paths()[0].vertices[:, 1]
                assert band.min() == pytest.approx(0.05 * 0.9**20 / 2)
                assert band.max() == pytest.approx(0.05 * 0.9 * 2)


@pytest.mark.slow
def test_plot_tool_names_a_work_dir_without_scalars(tmp_path):
    (tmp_path / 'empty').mkdir()
    proc = run_tool([PLOT, str(tmp_path / 'empty')], cwd=ROOT)
    assert proc.returncode != 0
    assert 'holds no */vis_data/scalars.json' in proc.stdout
    proc = run_tool([PLOT, str(tmp_path / 'missing')], cwd=ROOT)
    assert proc.returncode != 0
    assert 'work dir not found' in proc.stdout


def test_log_to_console_adds_a_line_per_layer_group():
    model, wrapper, runner, hook = make(lr=0.1, lam=0.)
    hook.log_to_console = True
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    run_iter(hook, runner, wrapper, 1)
    table, summary, backbone, neck = runner.logger.lines
    assert summary.startswith('ws iter 2: sigma min ')
    assert backbone.startswith('ws iter 2 backbone.layer1: sigma ')
    assert neck == ('ws iter 2 neck: sigma 2 [2, 2]  eff_lr 0.025  '
                    'near_eps 0.000  task_grad 0  reg_grad 0')
