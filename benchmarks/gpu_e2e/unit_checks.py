"""Unit checks of the plugin on one device (CUDA on the GPU machine).

    python unit_checks.py [--device cuda] [--json OUT]

1. ``WSConv2d`` forward and backward (input, weight and bias gradients)
   against a float64 reference of mmcv's formula
   ``(w - μ_f) / (σ_f + 1e-5)`` (unbiased σ), TF32 off;
2. the same under autocast (float16 and bfloat16 on CUDA, bfloat16 on CPU):
   output dtype, finite, close to the float64 reference;
3. channels_last input and weight give the contiguous result;
4. one ε-shifted SGD step built by ``EpsShiftedL2OptimWrapperConstructor``
   against the reference update of the paper (coupled), on the batched
   (CUDA default) and the per-tensor path;
5. an fp16 ``AmpOptimWrapper`` step equals the fp32 ``OptimWrapper`` step
   (same fp32 loss: scaling by a power of two is exact), and an autocast
   step stays finite (CUDA only: mmengine's AmpOptimWrapper needs it).

Prints one JSON object (each check: the largest difference and its bound)
and exits 1 when a check is over its bound.
"""
import argparse
import json
import os.path as osp
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))
from common import mmcv_formula  # noqa: E402  (mmcv's conv_ws_2d formula)

LR, MOMENTUM, LAM = 0.1, 0.9, 1e-2


def max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def check(results, name, value, bound):
    results[name] = dict(value=value, bound=bound,
                         ok=bool(value <= bound) if isinstance(
                             value, float) else bool(value))


def ws_conv_checks(device, results):
    from mmdet_eps_l2.models.ws_conv import WSConv2d
    torch.manual_seed(0)
    conv = WSConv2d(16, 32, 3, padding=1, bias=True).to(device)
    x = torch.randn(4, 16, 24, 20, device=device, requires_grad=True)
    grad_out = torch.randn(4, 32, 24, 20, device=device)

    # float64 reference: conv with mmcv's standardization of the weight
    xr = x.detach().double().requires_grad_(True)
    wr = conv.weight.detach().double().requires_grad_(True)
    br = conv.bias.detach().double().requires_grad_(True)
    yr = F.conv2d(xr, mmcv_formula(wr), br, padding=1)
    yr.backward(grad_out.double())

    y = conv(x)
    y.backward(grad_out)
    check(results, 'ws_conv_fp32_forward', max_rel(y, yr), 1e-5)
    check(results, 'ws_conv_fp32_grad_input', max_rel(x.grad, xr.grad), 1e-5)
    check(results, 'ws_conv_fp32_grad_weight',
          max_rel(conv.weight.grad, wr.grad), 1e-4)
    check(results, 'ws_conv_fp32_grad_bias', max_rel(conv.bias.grad, br.grad),
          1e-5)

    # autocast
    dtypes = (torch.float16, torch.bfloat16) if device.type == 'cuda' \
        else (torch.bfloat16, )
    for dtype in dtypes:
        conv.zero_grad(set_to_none=True)
        xa = x.detach().clone().requires_grad_(True)
        with torch.autocast(device.type, dtype=dtype):
            ya = conv(xa)
        ya.float().backward(grad_out)
        tag = str(dtype).split('.')[-1]
        check(results, f'ws_conv_autocast_{tag}_dtype', ya.dtype == dtype,
              True)
        finite = all(bool(torch.isfinite(t).all())
                     for t in (ya, xa.grad, conv.weight.grad))
        check(results, f'ws_conv_autocast_{tag}_finite', finite, True)
        check(results, f'ws_conv_autocast_{tag}_forward', max_rel(ya, yr),
              2e-2)
        check(results, f'ws_conv_autocast_{tag}_grad_weight',
              max_rel(conv.weight.grad, wr.grad), 5e-2)

    # channels_last weight and input
    conv_cl = WSConv2d(16, 32, 3, padding=1).to(device)
    conv_cl.load_state_dict(conv.state_dict())
    conv_cl = conv_cl.to(memory_format=torch.channels_last)
    xc = x.detach().to(memory_format=torch.channels_last).requires_grad_(True)
    yc = conv_cl(xc)
    yc.backward(grad_out)
    check(results, 'ws_conv_channels_last_forward', max_rel(yc, yr), 1e-5)
    check(results, 'ws_conv_channels_last_grad_weight',
          max_rel(conv_cl.weight.grad, wr.grad), 1e-4)


class TinyWSNet(nn.Module):
    """Two WS convs with GN and a linear head (conv_cfg=WSConv2d)."""

    def __init__(self):
        super().__init__()
        from mmdet_eps_l2.models.ws_conv import WSConv2d
        self.c1 = WSConv2d(3, 16, 3, padding=1, bias=False)
        self.g1 = nn.GroupNorm(4, 16)
        self.c2 = WSConv2d(16, 16, 3, padding=1, bias=False)
        self.g2 = nn.GroupNorm(4, 16)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.g1(self.c1(x)))
        x = F.relu(self.g2(self.c2(x)))
        return self.fc(x.mean((2, 3)))


def build_wrapper(model, eps, wrapper='OptimWrapper', **wrapper_kw):
    """SGD(lr, momentum, λ) with the ε-shifted constructor (coupled)."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import mmdet_eps_l2  # noqa: F401  (registers the constructor)
    init_default_scope('mmdet')
    opt = dict(type='SGD', lr=LR, momentum=MOMENTUM, weight_decay=LAM)
    return build_optim_wrapper(model, dict(
        type=wrapper, optimizer=opt, **wrapper_kw,
        constructor='EpsShiftedL2OptimWrapperConstructor',
        paramwise_cfg=dict(eps_l2=dict(eps=eps))))


def reference_coupled_sgd(model, eps):
    """The paper's update on float64 copies: g + λ((1 - ε/σ)(w - μ) + μ)
    for WS weights, g + λw otherwise; SGD with momentum, first step."""
    from mmdet_eps_l2.models.ws_conv import WSConv2d
    ws = {id(m.weight) for m in model.modules() if isinstance(m, WSConv2d)}
    out = {}
    for name, p in model.named_parameters():
        w, g = p.detach().double(), p.grad.double()
        if id(p) in ws:
            flat = w.flatten(1)
            mean = flat.mean(1).view(-1, 1, 1, 1)
            std = flat.std(1).view(-1, 1, 1, 1)
            d = g + LAM * ((1 - eps / std) * (w - mean) + mean)
        else:
            d = g + LAM * w
        out[name] = w - LR * d  # first step: momentum buffer = d
    return out


def optimizer_checks(device, results):
    eps = 1e-2
    torch.manual_seed(0)
    x = torch.randn(8, 3, 16, 16, device=device)
    y = torch.randint(0, 5, (8, ), device=device)
    for foreach in (True, False):
        torch.manual_seed(1)
        model = TinyWSNet().to(device)
        wrapper = build_wrapper(model, eps)
        from mmdet_eps_l2.optim import EpsShiftedL2StepHook
        hooks = [h for h in wrapper.optimizer._optimizer_step_pre_hooks
                 .values() if isinstance(h, EpsShiftedL2StepHook)]
        if len(hooks) != 1:
            raise RuntimeError(f'{len(hooks)} ε-shift step hooks, not 1')
        hooks[0].foreach = foreach  # the path under test
        F.cross_entropy(model(x), y).backward()
        ref = reference_coupled_sgd(model, eps)
        wrapper.step()
        diff = max(max_rel(p, ref[n]) for n, p in model.named_parameters())
        path = 'batched' if foreach else 'per_tensor'
        check(results, f'eps_step_coupled_sgd_{path}', diff, 1e-6)


def amp_checks(device, results):
    if device.type != 'cuda':
        results['amp_optim_wrapper'] = dict(
            ok=None, skipped='AmpOptimWrapper runs on CUDA only')
        return
    eps = 1e-2
    torch.manual_seed(0)
    x = torch.randn(8, 3, 16, 16, device=device)
    y = torch.randint(0, 5, (8, ), device=device)
    torch.manual_seed(1)
    fp32_model = TinyWSNet().to(device)
    amp_model = TinyWSNet().to(device)
    amp_model.load_state_dict(fp32_model.state_dict())
    fp32 = build_wrapper(fp32_model, eps)
    amp = build_wrapper(amp_model, eps, wrapper='AmpOptimWrapper',
                        dtype='float16', loss_scale=dict(init_scale=2.**14))
    for _ in range(2):
        fp32.update_params(F.cross_entropy(fp32_model(x), y))
        amp.update_params(F.cross_entropy(amp_model(x), y))  # fp32 loss
    diff = max(max_rel(a, b) for a, b in zip(amp_model.parameters(),
                                             fp32_model.parameters()))
    check(results, 'amp_fp16_scaled_step_equals_fp32', diff, 1e-6)
    for _ in range(3):
        with amp.optim_context(amp_model):
            loss = F.cross_entropy(amp_model(x), y)
        amp.update_params(loss)
    finite = all(bool(torch.isfinite(p).all()) for p in amp_model.parameters())
    check(results, 'amp_fp16_autocast_steps_finite', finite, True)
    results['amp_loss_scale'] = float(amp.loss_scaler.get_scale())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    # exact float32 convolutions and matmuls for the comparisons
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    results, errors = {}, {}
    for name, fn in (('ws_conv', ws_conv_checks),
                     ('optimizer', optimizer_checks), ('amp', amp_checks)):
        try:
            fn(device, results)
        except Exception as e:  # report, go on with the next group
            errors[name] = f'{type(e).__name__}: {e}'
    failed = [k for k, v in results.items() if v.get('ok') is False]
    out = dict(device=str(device), checks=results, errors=errors,
               failed=failed + list(errors))
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, 'w') as f:
            f.write(text)
    return 1 if out['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
