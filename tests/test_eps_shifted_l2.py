"""The ε-shifted L2 regularizer: maths, optimizer steps, AMP, clipping,
accumulation, state dict."""
import copy

import pytest
import torch
import torch.nn as nn
from mmcv.cnn.bricks.conv_ws import ConvWS2d

from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor
from mmdet_eps_l2.models import WSConv2d
from mmdet_eps_l2.ops import eps_shifted_l2_grad, eps_shifted_l2_value


def reference_shift(w, eps, lam):
    """Straightforward per-filter loop of the reference update term."""
    out = torch.empty_like(w)
    for f in range(w.shape[0]):
        wf = w[f].reshape(-1)
        mu, sigma = wf.mean(), wf.std()
        out[f] = (lam * ((1 - eps / sigma) * (wf - mu) + mu)).reshape(
            w[f].shape)
    return out


class TinyWSNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv1 = WSConv2d(3, 8, 3, padding=1, bias=False)
        self.gn1 = nn.GroupNorm(4, 8)
        self.conv2 = ConvWS2d(8, 8, 3, padding=1, bias=False)
        self.gn2 = nn.GroupNorm(4, 8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.gn1(self.conv1(x)))
        x = torch.relu(self.gn2(self.conv2(x)))
        return self.fc(x.mean((2, 3)))


def build(model, eps=1e-3, optimizer=None, wrapper=None, **eps_l2):
    optimizer = optimizer or dict(type='SGD', lr=0.1, momentum=0.9,
                                  weight_decay=1e-4)
    cfg = dict(type='OptimWrapper', optimizer=optimizer, **(wrapper or {}))
    return EpsShiftedL2OptimWrapperConstructor(
        cfg, dict(eps_l2=dict(eps=eps, **eps_l2)))(model)


def data(seed=0, n=4, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 3, 8, 8, generator=g, dtype=dtype),
            torch.randint(0, 3, (n, ), generator=g))


def loss_of(model, x, y):
    return nn.functional.cross_entropy(model(x), y)


# ----------------------------------------------------------------- maths
@pytest.mark.parametrize('shape', [(5, 3, 3, 3), (4, 7, 1, 1), (2, 2, 5, 5)])
def test_grad_equals_autograd_of_closed_form(shape):
    torch.manual_seed(0)
    w = torch.randn(shape, dtype=torch.float64).requires_grad_(True)
    eps, lam = 0.3, 1e-2
    eps_shifted_l2_value(w, eps, lam).backward()
    got = eps_shifted_l2_grad(w, eps, lam)
    assert torch.allclose(got, w.grad, rtol=1e-12, atol=1e-15)
    assert torch.allclose(got, reference_shift(w.detach(), eps, lam),
                          rtol=1e-12, atol=1e-15)


def test_closed_form_equals_definition():
    torch.manual_seed(0)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    eps, lam = 0.05, 0.5
    flat = w.reshape(4, -1)
    mu = flat.mean(1, keepdim=True)
    sigma = flat.std(1, keepdim=True)
    definition = lam / 2 * ((flat - eps * (flat - mu) / sigma)**2).sum()
    assert float(eps_shifted_l2_value(w, eps, lam)) == pytest.approx(
        float(definition), rel=1e-13)


# ------------------------------------------------------- optimizer steps
def _reference_sgd_run(model, steps, lr, momentum, lam, eps, nesterov=False):
    """SGD+momentum with the reference update, written out by hand."""
    ws = {id(model.conv1.weight), id(model.conv2.weight)}
    bufs = {}
    for step in range(steps):
        model.zero_grad()
        loss_of(model, *data(step)).backward()
        with torch.no_grad():
            for p in model.parameters():
                d = p.grad.clone()
                if id(p) in ws:
                    d += reference_shift(p, eps, lam)
                else:
                    d += lam * p
                if id(p) in bufs:
                    bufs[id(p)].mul_(momentum).add_(d)
                else:
                    bufs[id(p)] = d.clone()
                d = d + momentum * bufs[id(p)] if nesterov else bufs[id(p)]
                p.sub_(lr * d)


@pytest.mark.parametrize('nesterov', [False, True])
def test_40_sgd_momentum_steps_equal_reference(nesterov):
    torch.manual_seed(0)
    model = TinyWSNet().double()
    ref_model = copy.deepcopy(model)
    wrapper = build(model, eps=1e-2, optimizer=dict(
        type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-2,
        nesterov=nesterov))
    for step in range(40):
        wrapper.update_params(loss_of(model, *data(step)))
    _reference_sgd_run(ref_model, 40, 0.05, 0.9, 1e-2, 1e-2, nesterov)
    for (name, a), b in zip(model.named_parameters(), ref_model.parameters()):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12), name


def test_generic_path_equals_fused_path():
    """Plain-vs-fused λw: the same numbers either way (ASGD-free check)."""
    torch.manual_seed(0)
    model = TinyWSNet().double()
    other = copy.deepcopy(model)
    fused = build(model, eps=1e-2)
    generic = build(other, eps=1e-2)
    for g in generic.optimizer.param_groups:
        if 'eps_l2_eps' in g:
            g['eps_l2_fused'] = False
    for step in range(5):
        fused.update_params(loss_of(model, *data(step)))
        generic.update_params(loss_of(other, *data(step)))
    for a, b in zip(model.parameters(), other.parameters()):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize('hook_adds_lambda_w', [False, True])
def test_eps_zero_is_plain_sgd_weight_decay(hook_adds_lambda_w):
    """ε = 0 is SGD's own weight decay, bit for bit: with SGD adding λ·w
    (the fused path), and with the hook adding it to the gradient itself
    (the path of a mode other than the optimizer's) while SGD's update runs
    with weight_decay 0."""
    torch.manual_seed(0)
    model = TinyWSNet().double()
    ref = copy.deepcopy(model)
    wrapper = build(model, eps=0.)
    for g in wrapper.optimizer.param_groups:
        if 'eps_l2_eps' in g:
            g['eps_l2_fused'] = not hook_adds_lambda_w
    sgd = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9,
                          weight_decay=1e-4)
    for step in range(10):
        wrapper.update_params(loss_of(model, *data(step)))
        sgd.zero_grad()
        loss_of(ref, *data(step)).backward()
        sgd.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.equal(a, b)


def test_eps_zero_coupled_adamw_is_adams_weight_decay():
    """AdamW with mode='coupled' and ε = 0: the hook adds λ·w to the
    gradient and AdamW's own decay is off, which is Adam's weight decay."""
    torch.manual_seed(0)
    model = TinyWSNet().double()
    ref = copy.deepcopy(model)
    wrapper = build(model, eps=0., mode='coupled', optimizer=dict(
        type='AdamW', lr=1e-2, weight_decay=1e-2))
    (ws, ) = [g for g in wrapper.optimizer.param_groups
              if 'eps_l2_eps' in g]
    ws_ids = {id(p) for p in ws['params']}
    ref_ws = [q for p, q in zip(model.parameters(), ref.parameters())
              if id(p) in ws_ids]
    ref_other = [q for p, q in zip(model.parameters(), ref.parameters())
                 if id(p) not in ws_ids]
    adam = torch.optim.Adam(ref_ws, lr=1e-2, weight_decay=1e-2)
    adamw = torch.optim.AdamW(ref_other, lr=1e-2, weight_decay=1e-2)
    for step in range(5):
        wrapper.update_params(loss_of(model, *data(step)))
        adam.zero_grad()
        adamw.zero_grad()
        loss_of(ref, *data(step)).backward()
        adam.step()
        adamw.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.equal(a, b)


def test_without_loss_gradient_sigma_goes_to_eps_not_zero():
    torch.manual_seed(0)
    eps, lam, lr = 0.05, 1.0, 0.2

    def run(eps_value):
        conv = WSConv2d(4, 6, 3)
        wrapper = build(conv, eps=eps_value,
                        optimizer=dict(type='SGD', lr=lr, weight_decay=lam))
        for _ in range(300):
            conv.weight.grad = torch.zeros_like(conv.weight)
            wrapper.step()
        return conv.weight.detach().reshape(6, -1).std(1)

    assert torch.allclose(run(eps), torch.full((6, ), eps), rtol=1e-5)
    plain = run(0.)
    assert float(plain.max()) < 1e-20  # collapses toward 0


# ---------------------------------------------------------- other optims
def test_adam_coupled_equals_reference():
    torch.manual_seed(0)
    model = TinyWSNet().double()
    ref = copy.deepcopy(model)
    wrapper = build(model, eps=1e-2, optimizer=dict(type='Adam', lr=1e-2,
                                                   weight_decay=1e-2))
    adam = torch.optim.Adam(ref.parameters(), lr=1e-2)
    ws = [ref.conv1.weight, ref.conv2.weight]
    for step in range(10):
        wrapper.update_params(loss_of(model, *data(step)))
        adam.zero_grad()
        loss_of(ref, *data(step)).backward()
        with torch.no_grad():
            for p in ref.parameters():
                if any(p is w for w in ws):
                    p.grad += reference_shift(p, 1e-2, 1e-2)
                else:
                    p.grad += 1e-2 * p
        adam.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('opt_type', ['AdamW', 'Adam'])
def test_decoupled_mode_equals_reference(opt_type):
    torch.manual_seed(0)
    lr, lam, eps = 1e-2, 5e-2, 1e-2
    model = TinyWSNet().double()
    ref = copy.deepcopy(model)
    wrapper = build(model, eps=eps, mode='decoupled', optimizer=dict(
        type=opt_type, lr=lr, weight_decay=lam))
    fused = [g['eps_l2_fused'] for g in wrapper.optimizer.param_groups
             if 'eps_l2_eps' in g]
    assert fused == [opt_type == 'AdamW']
    adam = torch.optim.Adam(ref.parameters(), lr=lr)
    ws = [ref.conv1.weight, ref.conv2.weight]
    for step in range(10):
        wrapper.update_params(loss_of(model, *data(step)))
        adam.zero_grad()
        loss_of(ref, *data(step)).backward()
        with torch.no_grad():
            for p in ref.parameters():
                if any(p is w for w in ws):
                    p -= lr * reference_shift(p, eps, lam)
                elif opt_type == 'AdamW':
                    p -= lr * lam * p
                else:  # Adam: coupled L2 for the others
                    p.grad += lam * p
        adam.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


def test_adamw_coupled_mode_uses_generic_path():
    torch.manual_seed(0)
    model = TinyWSNet().double()
    wrapper = build(model, eps=1e-2, mode='coupled',
                    optimizer=dict(type='AdamW', lr=1e-2, weight_decay=1e-2))
    (ws_group, ) = [g for g in wrapper.optimizer.param_groups
                    if 'eps_l2_eps' in g]
    # λ stays the group's weight_decay; AdamW's update runs with 0
    assert ws_group['weight_decay'] == 1e-2
    assert ws_group['eps_l2_fused'] is False
    seen = []
    wrapper.optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: seen.append(ws_group['weight_decay']))
    wrapper.update_params(loss_of(model, *data(0)))
    assert seen == [0.] and ws_group['weight_decay'] == 1e-2
    assert 'eps_l2_held_weight_decay' not in ws_group


# ------------------------------------------------- AMP, clipping, accum
OPTIMIZERS = {
    'SGD': dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-2),
    'Adam': dict(type='Adam', lr=1e-2, weight_decay=1e-2),
    'AdamW': dict(type='AdamW', lr=1e-2, weight_decay=1e-2),
}
#: torch's three implementations of each optimizer
IMPLEMENTATIONS = {
    'for-loop': dict(foreach=False),
    'foreach': dict(foreach=True),
    'fused': dict(fused=True),
}


def _amp_steps(opt, mode, impl, scaler=None, steps=3, inf_at=None,
               plugin=True):
    """``steps`` steps of TinyWSNet (float32), loss-scaled by ``scaler``;
    at step ``inf_at`` one gradient is made inf before the step.  Without
    ``plugin``, torch's optimizer alone (its own weight decay everywhere).
    Returns the weights and the number of calls of the shift's hook at
    each step."""
    torch.manual_seed(0)
    model = TinyWSNet()
    optimizer = dict(OPTIMIZERS[opt], **IMPLEMENTATIONS[impl])
    calls = []
    if plugin:
        optimizer = build(model, eps=1e-2, optimizer=optimizer,
                          mode=mode).optimizer
        optimizer.eps_l2_step_hook.grad_readers.append(calls.append)
    else:
        kwargs = {k: v for k, v in optimizer.items() if k != 'type'}
        optimizer = getattr(torch.optim, opt)(model.parameters(), **kwargs)
    hook_calls = []
    for step in range(steps):
        loss = loss_of(model, *data(step, dtype=torch.float32))
        optimizer.zero_grad()
        (loss if scaler is None else scaler.scale(loss)).backward()
        if step == inf_at:
            before = [p.detach().clone() for p in model.parameters()]
            model.conv1.weight.grad[0, 0, 0, 0] = float('inf')
        done = len(calls)
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()
        hook_calls.append(len(calls) - done)
        if step == inf_at:
            for a, b in zip(model.parameters(), before):
                assert torch.equal(a, b), 'an inf step changed a weight'
    return [p.detach() for p in model.parameters()], hook_calls


def _max_diff(a, b):
    """Largest ``max|a - b| / max|b|`` over the tensors."""
    return max(float((x - y).abs().max() / y.abs().max())
               for x, y in zip(a, b))


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('mode', ['coupled', 'decoupled'])
@pytest.mark.parametrize('opt', OPTIMIZERS)
def test_loss_scaled_step_equals_the_unscaled_step(opt, mode, impl):
    """GradScaler unscales before the step (for-loop, foreach) or hands the
    scale to the fused kernel; either way the ε-shifted step is the fp32
    one, to float32 rounding.  The bound is torch's own: the same steps
    without the plugin (its optimizer's own weight decay), loss-scaled
    against unscaled and this implementation against the for-loop,
    measured here on this CPU, times 2, plus one float32 ulp."""
    scaler = torch.amp.GradScaler('cpu', init_scale=2.**12)
    scaled, _ = _amp_steps(opt, mode, impl, scaler)
    plain, _ = _amp_steps(opt, mode, impl)
    forloop, _ = _amp_steps(opt, mode, 'for-loop')
    torch_scaled, _ = _amp_steps(opt, mode, impl,
                                 torch.amp.GradScaler('cpu',
                                                      init_scale=2.**12),
                                 plugin=False)
    torch_plain, _ = _amp_steps(opt, mode, impl, plugin=False)
    torch_forloop, _ = _amp_steps(opt, mode, 'for-loop', plugin=False)
    bound = 2 * max(_max_diff(torch_scaled, torch_plain),
                    _max_diff(torch_scaled, torch_forloop)) + \
        torch.finfo(torch.float32).eps
    assert _max_diff(scaled, plain) <= bound
    assert _max_diff(scaled, forloop) <= bound


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('mode', ['coupled', 'decoupled'])
@pytest.mark.parametrize('opt', OPTIMIZERS)
def test_a_step_with_an_inf_gradient_changes_nothing(opt, mode, impl):
    """GradScaler skips ``step()`` of the for-loop and foreach optimizers
    on an inf step; a fused one steps, its kernel skips the update, and
    the shift's hook runs: it must hold its decoupled term back."""
    scaler = torch.amp.GradScaler('cpu', init_scale=2.**12)
    _, hook_calls = _amp_steps(opt, mode, impl, scaler, steps=2, inf_at=1)
    assert hook_calls == ([1, 1] if impl == 'fused' else [1, 0])


@pytest.mark.parametrize('opt,native', [('SGD', 'coupled'),
                                        ('Adam', 'coupled'),
                                        ('AdamW', 'decoupled')])
def test_default_mode_is_the_optimizers_own_bit_for_bit(opt, native):
    runs = []
    for mode in (None, native):
        torch.manual_seed(0)
        model = TinyWSNet().double()
        extra = {} if mode is None else dict(mode=mode)
        wrapper = build(model, eps=1e-2, optimizer=dict(OPTIMIZERS[opt]),
                        **extra)
        (group, ) = [g for g in wrapper.optimizer.param_groups
                     if 'eps_l2_eps' in g]
        assert group['eps_l2_mode'] == native
        assert group['eps_l2_fused'] is True
        for step in range(3):
            wrapper.update_params(loss_of(model, *data(step)))
        runs.append([p.detach() for p in model.parameters()])
    for a, b in zip(*runs):
        assert torch.equal(a, b)


def test_decoupled_adam_counts_as_decoupled():
    wrapper = build(TinyWSNet(), optimizer=dict(
        type='Adam', lr=1e-3, weight_decay=1e-2, decoupled_weight_decay=True))
    (group, ) = [g for g in wrapper.optimizer.param_groups
                 if 'eps_l2_eps' in g]
    assert (group['eps_l2_mode'], group['eps_l2_fused']) == ('decoupled',
                                                             True)


def test_an_optimizer_of_unknown_decay_semantics_needs_a_mode():
    with pytest.raises(ValueError, match="optim_wrapper.paramwise_cfg."
                       "eps_l2.mode is not set and the weight_decay "
                       "semantics of optimizer 'Adadelta' are not known"):
        build(TinyWSNet(), optimizer=dict(type='Adadelta', lr=1.,
                                          weight_decay=1e-4))
    wrapper = build(TinyWSNet(), mode='coupled', optimizer=dict(
        type='Adadelta', lr=1., weight_decay=1e-4))
    (group, ) = [g for g in wrapper.optimizer.param_groups
                 if 'eps_l2_eps' in g]
    assert (group['weight_decay'], group['eps_l2_fused']) == (1e-4, False)


def test_a_mode_other_than_the_optimizers_is_logged_once(capsys):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('eps_l2_mode_test')
    build(TinyWSNet(), mode='coupled', optimizer=dict(OPTIMIZERS['AdamW']))
    lines = [line for line in capsys.readouterr().out.splitlines()
             if "mode='coupled' while AdamW decays decoupled" in line]
    assert len(lines) == 1


def test_bf16_autocast_training_step_is_finite_and_close():
    torch.manual_seed(0)
    model = TinyWSNet()
    ref = copy.deepcopy(model)
    wrapper, ref_wrapper = build(model, eps=1e-2), build(ref, eps=1e-2)
    x, y = data(0, dtype=torch.float32)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = loss_of(model, x, y)
    wrapper.update_params(loss)
    ref_wrapper.update_params(loss_of(ref, x, y))
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.isfinite(a).all()
        assert float((a - b).abs().max()) < 5e-3


def test_clipping_clips_the_loss_gradient_only():
    torch.manual_seed(0)
    model = TinyWSNet().double()
    ref = copy.deepcopy(model)
    wrapper = build(model, eps=1e-2, optimizer=dict(type='SGD', lr=0.1,
                                                   weight_decay=1e-1),
                    wrapper=dict(clip_grad=dict(max_norm=1e-3)))
    wrapper.update_params(loss_of(model, *data(0)))
    loss_of(ref, *data(0)).backward()
    torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm=1e-3)
    ws = [ref.conv1.weight, ref.conv2.weight]
    with torch.no_grad():
        for p in ref.parameters():
            shift = reference_shift(p, 1e-2, 1e-1) if any(
                p is w for w in ws) else 1e-1 * p
            p -= 0.1 * (p.grad + shift)
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_gradient_accumulation_applies_the_shift_once_per_step():
    torch.manual_seed(0)
    model = TinyWSNet().double()
    ref = copy.deepcopy(model)
    wrapper = build(model, eps=1e-2, optimizer=dict(type='SGD', lr=0.1,
                                                   weight_decay=1e-1),
                    wrapper=dict(accumulative_counts=2))
    ref_wrapper = build(ref, eps=1e-2, optimizer=dict(type='SGD', lr=0.1,
                                                     weight_decay=1e-1))
    x, y = data(0)
    for half in (slice(0, 2), slice(2, 4)):
        with wrapper.optim_context(model):
            wrapper.update_params(loss_of(model, x[half], y[half]))
    # accumulation divides each loss by 2: mean over the two halves
    ref_wrapper.update_params(loss_of(ref, x, y))
    for a, b in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-14)


def test_state_dict_round_trip_continues_bit_identically():
    torch.manual_seed(0)
    model = TinyWSNet().double()
    wrapper = build(model, eps=1e-2)
    for step in range(3):
        wrapper.update_params(loss_of(model, *data(step)))
    saved_model = copy.deepcopy(model.state_dict())
    saved_optim = copy.deepcopy(wrapper.state_dict())
    for step in range(3, 6):
        wrapper.update_params(loss_of(model, *data(step)))

    resumed = TinyWSNet().double()
    resumed.load_state_dict(saved_model)
    resumed_wrapper = build(resumed, eps=1e-2)
    resumed_wrapper.load_state_dict(saved_optim)
    assert [
        {k: v for k, v in g.items() if k != 'params'}
        for g in resumed_wrapper.optimizer.param_groups
    ] == [{k: v for k, v in g.items() if k != 'params'}
          for g in wrapper.optimizer.param_groups]
    for step in range(3, 6):
        resumed_wrapper.update_params(loss_of(resumed, *data(step)))
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


def test_closure_is_refused():
    model = TinyWSNet()
    wrapper = build(model)
    with pytest.raises(RuntimeError, match='closure'):
        wrapper.optimizer.step(lambda: 0.)
