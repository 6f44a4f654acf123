"""The functional core: eps_shifted_l2_'s per-tensor and batched paths
agree, it imports with torch alone, and which convs get the shift."""
import math

import pytest
import torch
import torch.nn as nn

from helpers.toy import ROOT, run_tool
from mmdet_eps_l2.ops import eps_shifted_l2_, eps_shifted_l2_grad
from mmdet_eps_l2.ops.ws_family import (EXACT, MIN_EPS_VARIANCE_EPS,
                                        VARIANCE_EPS, eps_shift_weights,
                                        is_ws_conv, ws_family)

SHAPES = [(8, 3, 7, 7), (16, 8, 1, 1), (16, 16, 3, 3), (16, 16, 3, 3),
          (32, 4, 3, 3), (4, 32, 1, 1)]


def _tensors(dtype=torch.float64, channels_last=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    params, grads = [], []
    for i, shape in enumerate(SHAPES):
        p = torch.randn(shape, generator=gen, dtype=dtype) * 0.1 + 0.01 * i
        g = torch.randn(shape, generator=gen, dtype=dtype)
        if channels_last:
            p = p.contiguous(memory_format=torch.channels_last)
            g = g.contiguous(memory_format=torch.channels_last)
        params.append(p)
        grads.append(g)
    params[2][3] = 0.5  # a constant filter: ŵ = 0 there
    return params, grads


@pytest.mark.parametrize('mode', ['coupled', 'decoupled'])
@pytest.mark.parametrize('plain_decay', [None, 0.0])
@pytest.mark.parametrize('channels_last', [False, True])
def test_batched_path_equals_per_tensor_path(mode, plain_decay,
                                             channels_last):
    kw = dict(eps=1e-2, weight_decay=0.05, plain_decay=plain_decay,
              mode=mode, lr=0.3)
    p1, g1 = _tensors(channels_last=channels_last)
    p2, g2 = _tensors(channels_last=channels_last)
    eps_shifted_l2_(p1, g1, foreach=False, **kw)
    eps_shifted_l2_(p2, g2, foreach=True, **kw)
    for a, b, c, d in zip(p1, p2, g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)
        torch.testing.assert_close(c, d, rtol=1e-13, atol=1e-15)
    p0, g0 = _tensors(channels_last=channels_last)
    changed = p1 if mode == 'decoupled' else g1
    before = p0 if mode == 'decoupled' else g0
    assert all(not torch.equal(a, b) for a, b in zip(changed, before))


def test_coupled_step_adds_the_exact_gradient_of_r():
    params, grads = _tensors()
    expected = [g + eps_shifted_l2_grad(p, 1e-2, 0.05)
                for p, g in zip(params, grads)]
    eps_shifted_l2_(params, grads, eps=1e-2, weight_decay=0.05,
                    foreach=True)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-15)


def test_batched_path_in_float32_matches_a_float64_reference():
    p64, g64 = _tensors()
    p32 = [p.float() for p in p64]
    g32 = [g.float() for g in g64]
    eps_shifted_l2_(p64, g64, eps=1e-3, weight_decay=1e-4, foreach=False)
    eps_shifted_l2_(p32, g32, eps=1e-3, weight_decay=1e-4, foreach=True)
    for a, b in zip(g32, g64):
        torch.testing.assert_close(a.double(), b, rtol=1e-6, atol=1e-7)


def test_bad_arguments_are_refused():
    params, grads = _tensors()
    with pytest.raises(ValueError, match="mode must be one of"):
        eps_shifted_l2_(params, grads, eps=1e-3, weight_decay=1e-4,
                        mode='both')
    with pytest.raises(ValueError, match='6 params but 5 grads'):
        eps_shifted_l2_(params, grads[:5], eps=1e-3, weight_decay=1e-4)


@pytest.mark.slow
def test_ops_import_and_run_without_the_openmmlab_stack(tmp_path):
    script = (
        'import sys\n'
        'sys.modules.update(mmdet=None, mmcv=None, mmengine=None)\n'
        f'sys.path.insert(0, r"{ROOT}")\n'
        'import torch\n'
        'import mmdet_eps_l2\n'
        'import mmdet_eps_l2.ops as ops\n'
        'from mmdet_eps_l2.optim.step_hook import EpsShiftedL2StepHook\n'
        'assert mmdet_eps_l2.OPENMMLAB is False\n'
        'assert not hasattr(mmdet_eps_l2, "WSConv2d")\n'
        'w = torch.randn(4, 3, 3, 3, requires_grad=True)\n'
        'ops.standardize_weight(w).sum().backward()\n'
        'ops.eps_shifted_l2_([w.detach()], [w.grad], eps=1e-3,'
        ' weight_decay=1e-4)\n'
        'print("ok", sorted(m for m in ("mmdet", "mmcv", "mmengine")'
        ' if sys.modules.get(m) is not None))\n')
    proc = run_tool(['-c', script], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert proc.stdout.strip().endswith('ok []')


# ------------------------------------------------ which convs are WS convs
def test_ws_families():
    from mmcv.cnn.bricks.conv_ws import ConvAWS2d, ConvWS2d
    from mmcv.ops.saconv import SAConv2d

    from mmdet_eps_l2.models import WSConv2d
    assert ws_family(WSConv2d(4, 4, 3)) == EXACT
    assert ws_family(ConvWS2d(4, 4, 3)) == EXACT
    assert ws_family(ConvAWS2d(4, 4, 3)) == VARIANCE_EPS
    assert ws_family(SAConv2d(4, 4, 3)) == VARIANCE_EPS
    assert not is_ws_conv(nn.Conv2d(4, 4, 3))
    assert MIN_EPS_VARIANCE_EPS == pytest.approx(10 * math.sqrt(1e-5))


def test_variance_eps_convs_take_the_shift_only_with_a_large_eps():
    from mmcv.cnn.bricks.conv_ws import ConvAWS2d

    from mmdet_eps_l2.models import WSConv2d
    model = nn.Sequential(WSConv2d(4, 8, 3), ConvAWS2d(8, 8, 3),
                          WSConv2d(8, 8, 3, groups=8))  # depthwise
    assert set(eps_shift_weights(model, eps=0.05).values()) == {
        '0.weight', '1.weight'
    }
    with pytest.raises(ValueError) as e:
        eps_shift_weights(model, eps=1e-3)
    assert str(e.value).startswith(
        '1 (ConvAWS2d) standardizes with sqrt(var + 1e-5): it is '
        'scale-invariant only while the filter variance is well above '
        '1e-5')
    assert "Use eps >= 0.03162, or WSConv2d with convention='mmcv' for " \
        'this layer' in str(e.value)


def test_a_timm_convention_ws_conv_gets_the_variance_eps_rule():
    # WSConv2d(convention='timm') standardizes with sqrt(var + eps): it is
    # scale-invariant only while var >> eps, so the shift needs
    # ε >= 10·sqrt(eps), as mmcv's ConvAWS2d
    from mmdet_eps_l2.models import WSConv2d
    from mmdet_eps_l2.ops.ws_family import min_shift_eps
    timm = WSConv2d(4, 8, 3, convention='timm', eps=1e-4)
    assert ws_family(timm) == VARIANCE_EPS
    assert ws_family(WSConv2d(4, 8, 3)) == EXACT
    assert min_shift_eps(timm) == pytest.approx(0.1, rel=1e-12)
    model = nn.Sequential(WSConv2d(8, 4, 3), timm)
    with pytest.raises(ValueError) as e:
        eps_shift_weights(model, eps=1e-3)
    assert str(e.value).startswith(
        '1 (WSConv2d) standardizes with sqrt(var + 0.0001): it is '
        'scale-invariant only while the filter variance is well above '
        '0.0001')
    assert 'Use eps >= 0.1,' in str(e.value)
    assert set(eps_shift_weights(model, eps=0.1).values()) == {
        '0.weight', '1.weight'}


class _LooksCuda(torch.Tensor):
    """A CPU tensor that says it is on CUDA: the default path must not
    depend on the device."""

    @property
    def is_cuda(self):
        return True


def test_the_default_path_is_per_tensor_on_every_device(monkeypatch):
    from mmdet_eps_l2.ops import eps_shift

    def batched(*args):
        raise AssertionError('the default took the batched path')

    monkeypatch.setattr(eps_shift, '_multi_tensor_eps_shifted_l2_', batched)
    params, grads = _tensors()
    params = [p.as_subclass(_LooksCuda) for p in params]
    assert all(p.is_cuda for p in params)
    expected = [g + eps_shifted_l2_grad(p.as_subclass(torch.Tensor), 1e-2,
                                        0.05) for p, g in zip(params, grads)]
    eps_shifted_l2_(params, grads, eps=1e-2, weight_decay=0.05)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-15)


def test_the_batched_path_keeps_nothing_between_steps():
    # no cache keyed by the weights' shapes: nothing per element outlives
    # a step
    from mmdet_eps_l2.ops import eps_shift
    assert not hasattr(eps_shift._filter_index, 'cache_info')
    params, grads = _tensors()
    eps_shifted_l2_(params, grads, eps=1e-2, weight_decay=0.05,
                    foreach=True)
    held = [v for v in vars(eps_shift).values() if torch.is_tensor(v)]
    assert held == []
