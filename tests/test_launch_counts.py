"""Kernel launches of the plugin, counted as top-level aten ops (each at
least one GPU launch; the profiler counts them on the CPU as a GPU would
see them): bounds that a later change cannot silently exceed."""
import importlib.util
import os.path as osp

import pytest
import torch

from mmdet_eps_l2.ops import eps_shifted_l2_

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    'op_counts', osp.join(ROOT, 'benchmarks', 'op_counts.py'))
op_counts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(op_counts)


def test_the_counter_counts_top_level_ops_only():
    x = torch.randn(4, 4)
    # addmm calls other aten ops inside: one top-level op
    assert op_counts.top_level_aten_ops(lambda: torch.addmm(x, x, x)) == 1
    assert op_counts.top_level_aten_ops(lambda: (x + 1).mul_(2)) == 2


def test_ws_conv_forward_backward_is_near_the_launch_floor():
    counts = op_counts.conv_counts()
    assert counts['WSConv2d'] <= 24
    # the standardization's own ops, against the plain conv's
    assert counts['WSConv2d'] - counts['nn.Conv2d'] <= 13
    assert counts['WSConv2d'] < counts['mmcv ConvWS2d']


SHAPES = [(8, 4, 3, 3), (16, 8, 1, 1), (4, 2, 3, 3), (8, 8, 3, 3)]


@pytest.mark.parametrize('plain_decay', [0., 1e-2])
@pytest.mark.parametrize('mode', ['coupled', 'decoupled'])
@pytest.mark.parametrize('amp', [False, True])
def test_eps_shift_takes_at_most_6_ops_per_tensor(plain_decay, mode, amp):
    torch.manual_seed(0)
    params = [torch.randn(s) for s in SHAPES]
    grads = [torch.randn(s) for s in SHAPES]
    kw = dict(eps=1e-3, weight_decay=1e-2, plain_decay=plain_decay,
              mode=mode, lr=0.1)
    if amp:
        kw.update(grad_scale=torch.tensor(2.**10), found_inf=torch.tensor(0.))
    per_tensor = 4 + (plain_decay != 0)
    per_step = 1 if amp and mode == 'decoupled' else 0  # 1 - found_inf
    count = op_counts.top_level_aten_ops(
        lambda: eps_shifted_l2_(params, grads, **kw))
    assert count == per_tensor * len(SHAPES) + per_step
    assert per_tensor <= 6
