"""The functional core: eps_shifted_l2_ against the closed form, under
GradScaler's scale and inf flag, with torch alone; which convs get the
shift."""
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


def _reference_term(p, eps, lam, plain):
    """``plain·w - lam·ε·ŵ`` per filter, from the closed form."""
    return eps_shifted_l2_grad(p, eps, lam) + (plain - lam) * p


@pytest.mark.parametrize('mode', ['coupled', 'decoupled'])
@pytest.mark.parametrize('plain_decay', [None, 0.0])
@pytest.mark.parametrize('channels_last', [False, True])
def test_the_step_adds_the_closed_form_term(mode, plain_decay,
                                            channels_last):
    """float64: the in-place term equals λ(w - εŵ) (or -λεŵ alone) of
    the closed form to rounding, in any layout, a constant filter too."""
    params, grads = _tensors(channels_last=channels_last)
    lam, eps, lr = 0.05, 1e-2, 0.1
    plain = lam if plain_decay is None else plain_decay
    terms = [_reference_term(p, eps, lam, plain) for p in params]
    expected = ([g + t for g, t in zip(grads, terms)] if mode == 'coupled'
                else [p - lr * t for p, t in zip(params, terms)])
    eps_shifted_l2_(params, grads, eps=eps, weight_decay=lam,
                    plain_decay=plain_decay, mode=mode, lr=lr)
    got = grads if mode == 'coupled' else params
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)


def test_float32_step_matches_a_float64_reference():
    p64, g64 = _tensors()
    p32, g32 = [p.float() for p in p64], [g.float() for g in g64]
    eps_shifted_l2_(p64, g64, eps=1e-3, weight_decay=1e-4)
    eps_shifted_l2_(p32, g32, eps=1e-3, weight_decay=1e-4)
    for a, b in zip(g32, g64):
        torch.testing.assert_close(a.double(), b, rtol=1e-6, atol=1e-7)


def test_grad_scale_scales_the_coupled_term_exactly():
    """Under a fused optimizer's GradScaler the gradients are scaled by s
    (a power of two): the term is added times s (to float32 rounding:
    the unscaled path may fuse its multiply-add)."""
    params, grads = _tensors(torch.float32)
    scaled = [g * 2.**10 for g in grads]
    eps_shifted_l2_(params, grads, eps=1e-2, weight_decay=0.05)
    eps_shifted_l2_(params, scaled, eps=1e-2, weight_decay=0.05,
                    grad_scale=torch.tensor(2.**10))
    for a, b in zip(grads, scaled):
        torch.testing.assert_close(b, a * 2.**10, rtol=1e-6, atol=0)


def test_found_inf_holds_the_decoupled_step_back():
    params, grads = _tensors()
    before = [p.clone() for p in params]
    eps_shifted_l2_(params, grads, eps=1e-2, weight_decay=0.05,
                    mode='decoupled', lr=0.1, found_inf=torch.tensor(1.))
    assert all(torch.equal(a, b) for a, b in zip(params, before))
    eps_shifted_l2_(params, grads, eps=1e-2, weight_decay=0.05,
                    mode='decoupled', lr=0.1, found_inf=torch.tensor(0.))
    assert not any(torch.equal(a, b) for a, b in zip(params, before))


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
