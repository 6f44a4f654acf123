"""GPU check: WS conv and ε-shifted step on an accelerator, pure torch.

Runs on a machine with a CUDA build of torch and nothing else of the
OpenMMLab stack (no mmcv, mmdet, mmengine, no compiled ops): it imports
only the torch-only parts of this package (``mmdet_eps_l2.ops`` and
``mmdet_eps_l2.optim.eps_shifted_l2``) and rebuilds what it needs by hand.

    python benchmarks/gpu_check.py [--device cuda] [--tiny] [--json out.json]

1. standardizing the 69 WS weights of Mask R-CNN R-50-FPN GN+WS (shapes
   generated here): WSConv2d's autograd vs mmcv's ``conv_ws_2d`` formula;
2. one SGD step over a Mask R-CNN-sized parameter set: the ε-shifted groups
   (as EpsShiftedL2OptimWrapperConstructor builds them) vs plain foreach SGD;
3. fp16 autocast + GradScaler step == fp32 step of the ε-shifted optimizer;
4. forward + backward + step of a GN+WS ResNet-50-FPN trunk (2x3x512x512):
   WSConv2d + ε-shifted groups vs the mmcv ConvWS formula + one group per
   parameter (what the stock constructor gives with a paramwise_cfg):
   iteration time and peak memory.
Prints what it could not run.  ``--tiny`` shrinks everything (CPU dry run).
"""
import argparse
import json
import os.path as osp
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


sys.path.insert(0, ROOT)
# torch-only parts: they import without mmengine, mmcv and mmdet
import mmdet_eps_l2.ops as OPS  # noqa: E402
import mmdet_eps_l2.optim.eps_shifted_l2 as EPS_L2  # noqa: E402
from mmdet_eps_l2.ops.param_groups import shift_group_keys  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from common import (mmcv_formula, standardize_step,  # noqa: E402
                    time_side_by_side)  # (pure torch)


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def timed(candidates, device, repeats, warmup=2):
    return time_side_by_side(candidates, repeats, warmup,
                             sync=lambda: sync(device))


# ------------------------------------------------------------- the shapes
def mask_rcnn_r50_ws_shapes(width=64):
    """The 69 WS conv weight shapes of mmdet's Mask R-CNN R-50-FPN GN+WS."""
    shapes = [(width, 3, 7, 7)]
    in_c = width
    for stage, blocks in enumerate((3, 4, 6, 3)):
        mid = width * 2**stage
        out = mid * 4
        for b in range(blocks):
            shapes += [(mid, in_c, 1, 1), (mid, mid, 3, 3), (out, mid, 1, 1)]
            if b == 0:
                shapes.append((out, in_c, 1, 1))
            in_c = out
    fpn = width * 4
    for c in (width * 4, width * 8, width * 16, width * 32):
        shapes.append((fpn, c, 1, 1))
    shapes += [(fpn, fpn, 3, 3)] * 4  # FPN output convs
    shapes += [(fpn, fpn, 3, 3)] * 8  # bbox head 4 convs, mask head 4 convs
    return shapes


# ------------------------------------------------------------ 1. standardize
def check_standardize(device, tiny, repeats):
    shapes = mask_rcnn_r50_ws_shapes(8 if tiny else 64)
    weights = [torch.randn(s, device=device, requires_grad=True)
               for s in shapes]
    grads = [torch.randn(s, device=device) for s in shapes]

    t = timed({'ours': standardize_step(
        lambda w: OPS.standardize_weight(w, 1e-5), weights, grads),
               'mmcv': standardize_step(mmcv_formula, weights, grads)},
              device, repeats)
    # exactness on this device, float32
    w = weights[5].detach().clone()
    err = float((OPS.standardize_weight(w, 1e-5) - mmcv_formula(w)).abs()
                .max())
    return dict(n_weights=len(shapes), ms_ours=t['ours'] * 1e3,
                ms_mmcv=t['mmcv'] * 1e3, speedup=t['mmcv'] / t['ours'],
                max_abs_diff_vs_mmcv=err)


# ---------------------------------------------------------- 2. optim step
def eps_groups(ws_params, other_params, eps, lam, fused=True):
    """The groups EpsShiftedL2OptimWrapperConstructor builds for SGD."""
    return [
        dict(params=ws_params, **shift_group_keys(eps, 'coupled', fused, lam)),
        dict(params=other_params),
    ]


def make_eps_sgd(ws_params, other_params, lr=0.02, lam=1e-4, eps=1e-3,
                 **kw):
    opt = torch.optim.SGD(eps_groups(ws_params, other_params, eps, lam),
                          lr=lr, momentum=0.9, weight_decay=lam, **kw)
    opt.register_step_pre_hook(EPS_L2.EpsShiftedL2StepHook())
    return opt


def check_optimizer_step(device, tiny, repeats):
    width = 8 if tiny else 64
    fc_in = 16 if tiny else 256 * 7 * 7
    fc = 32 if tiny else 1024

    def params():
        g = torch.Generator(device='cpu').manual_seed(0)
        ws = [nn.Parameter(torch.randn(s, generator=g).to(device) * 0.05)
              for s in mask_rcnn_r50_ws_shapes(width)]
        other = [nn.Parameter(torch.randn(s, generator=g).to(device))
                 for s in [(fc, fc_in), (fc, ), (fc, fc), (fc, ), (81, fc),
                           (81, ), (320, fc), (320, )] + [(s[0], )
                                                          for s in [x.shape
                                                                    for x in ws]
                                                          ] * 2]
        for p in ws + other:
            p.grad = torch.randn_like(p) * 1e-3
        return ws, other

    ws, other = params()
    ours = make_eps_sgd(ws, other)
    ws2, other2 = params()
    plain = torch.optim.SGD(ws2 + other2, lr=0.02, momentum=0.9,
                            weight_decay=1e-4, foreach=True)
    t = timed({'ours': ours.step, 'foreach SGD': plain.step}, device,
              repeats)
    n = sum(p.numel() for p in ws + other)
    return dict(numel_millions=n / 1e6, ms_ours=t['ours'] * 1e3,
                ms_foreach_sgd=t['foreach SGD'] * 1e3,
                ratio=t['ours'] / t['foreach SGD'])


# ------------------------------------------------------------- 3. fp16 AMP
class TinyWSNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.g1 = nn.GroupNorm(4, 16)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.g2 = nn.GroupNorm(4, 16)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.g1(F.conv2d(x, OPS.standardize_weight(self.c1.weight),
                                    padding=1)))
        x = F.relu(self.g2(F.conv2d(x, OPS.standardize_weight(self.c2.weight),
                                    padding=1)))
        return self.fc(x.mean((2, 3)))


def check_amp(device):
    amp_dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
    torch.manual_seed(0)
    model = TinyWSNet().to(device)
    ref = TinyWSNet().to(device)
    ref.load_state_dict(model.state_dict())
    x = torch.randn(8, 3, 16, 16, device=device)
    y = torch.randint(0, 5, (8, ), device=device)

    def opt_for(m):
        ws = [m.c1.weight, m.c2.weight]
        rest = [p for p in m.parameters() if all(p is not w for w in ws)]
        return make_eps_sgd(ws, rest, lr=0.1, lam=1e-2, eps=1e-2)

    opt, ref_opt = opt_for(model), opt_for(ref)
    scaler = torch.amp.GradScaler(device.type, init_scale=2.**14)
    # the same fp32 loss, scaled: the step must equal the unscaled one
    scaler.scale(F.cross_entropy(model(x), y)).backward()
    scaler.step(opt)
    scaler.update()
    F.cross_entropy(ref(x), y).backward()
    ref_opt.step()
    scaled_diff = max(float((a - b).detach().abs().max())
                      for a, b in zip(model.parameters(), ref.parameters()))
    # a full mixed-precision step (autocast forward) stays close and finite
    with torch.autocast(device.type, dtype=amp_dtype):
        loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(opt)
    finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    return dict(amp_dtype=str(amp_dtype), scaled_step_max_diff=scaled_diff,
                autocast_step_finite=finite)


# ------------------------------------------------------------- 4. trunk
class WSConv(nn.Conv2d):

    def __init__(self, *args, formula='ours', **kwargs):
        super().__init__(*args, **kwargs)
        self.formula = formula

    def forward(self, x):
        w = OPS.standardize_weight(self.weight, 1e-5) \
            if self.formula == 'ours' else mmcv_formula(self.weight)
        return self._conv_forward(x, w, self.bias)


class Bottleneck(nn.Module):

    def __init__(self, conv, in_c, mid, stride):
        super().__init__()
        out = mid * 4
        self.conv1, self.gn1 = conv(in_c, mid, 1, bias=False), nn.GroupNorm(
            32 if mid >= 32 else 1, mid)
        self.conv2 = conv(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.gn2 = nn.GroupNorm(32 if mid >= 32 else 1, mid)
        self.conv3, self.gn3 = conv(mid, out, 1, bias=False), nn.GroupNorm(
            32 if out >= 32 else 1, out)
        self.down = None
        if stride != 1 or in_c != out:
            self.down = nn.Sequential(
                conv(in_c, out, 1, stride=stride, bias=False),
                nn.GroupNorm(32 if out >= 32 else 1, out))

    def forward(self, x):
        y = F.relu(self.gn1(self.conv1(x)))
        y = F.relu(self.gn2(self.conv2(y)))
        y = self.gn3(self.conv3(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNet50FPN(nn.Module):
    """GN+WS ResNet-50 + FPN (WS + GN in the FPN convs), 69 - 8 WS convs
    (the trunk: no box / mask heads)."""

    def __init__(self, formula, width=64):
        super().__init__()

        def conv(*a, **k):
            return WSConv(*a, formula=formula, **k)

        self.stem = nn.Sequential(
            conv(3, width, 7, stride=2, padding=3, bias=False),
            nn.GroupNorm(32 if width >= 32 else 1, width), nn.ReLU(),
            nn.MaxPool2d(3, 2, 1))
        stages, in_c = [], width
        for i, blocks in enumerate((3, 4, 6, 3)):
            mid = width * 2**i
            layers = []
            for b in range(blocks):
                layers.append(Bottleneck(conv, in_c, mid,
                                         2 if (b == 0 and i > 0) else 1))
                in_c = mid * 4
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        fpn = width * 4
        self.lateral = nn.ModuleList(
            nn.Sequential(conv(c, fpn, 1, bias=False),
                          nn.GroupNorm(32 if fpn >= 32 else 1, fpn))
            for c in (width * 4, width * 8, width * 16, width * 32))
        self.out = nn.ModuleList(
            nn.Sequential(conv(fpn, fpn, 3, padding=1, bias=False),
                          nn.GroupNorm(32 if fpn >= 32 else 1, fpn))
            for _ in range(4))

    def forward(self, x):
        feats, x = [], self.stem(x)
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        lat = [m(f) for m, f in zip(self.lateral, feats)]
        for i in range(3, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(
                lat[i], size=lat[i - 1].shape[-2:], mode='nearest')
        return [m(f) for m, f in zip(self.out, lat)]


def check_trunk(device, tiny, repeats):
    size, width = (64, 8) if tiny else (512, 64)
    results = {}
    torch.manual_seed(0)
    x = torch.randn(2, 3, size, size, device=device)
    for name, formula in (('WSConv2d + eps-shifted groups', 'ours'),
                          ('mmcv ConvWS formula + per-parameter groups',
                           'mmcv')):
        torch.manual_seed(0)
        model = ResNet50FPN(formula, width).to(device)
        ws = [m.weight for m in model.modules() if isinstance(m, WSConv)]
        rest = [p for p in model.parameters() if all(p is not w for w in ws)]
        if formula == 'ours':
            opt = make_eps_sgd(ws, rest)
        else:
            opt = torch.optim.SGD([dict(params=[p]) for p in ws + rest],
                                  lr=0.02, momentum=0.9, weight_decay=1e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            outs = model(x)
            sum(o.float().mean() for o in outs).backward()
            opt.step()

        step()
        sync(device)
        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        t = timed({name: step}, device, repeats, warmup=1)[name]
        peak = torch.cuda.max_memory_allocated() / 2**20 \
            if device.type == 'cuda' else float('nan')
        results[name] = dict(s_per_iter=t, peak_mib=peak)
        del model, opt
    a, b = results.values()
    results['ratio_time'] = a['s_per_iter'] / b['s_per_iter']
    return results


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--tiny', action='store_true')
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('could not run: CUDA is not available on this machine')
        return 2
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' \
        else 'CPU'
    print(f'# gpu_check on {name}, torch {torch.__version__}')
    result, failed = dict(device=name, torch=torch.__version__), []
    for key, fn in (('standardize', lambda: check_standardize(
            device, args.tiny, args.repeats)),
                    ('optimizer_step', lambda: check_optimizer_step(
                        device, args.tiny, args.repeats)),
                    ('amp', lambda: check_amp(device)),
                    ('trunk', lambda: check_trunk(device, args.tiny,
                                                  max(3, args.repeats // 2)))):
        try:
            result[key] = fn()
            print(f'{key}: {json.dumps(result[key], default=str)}')
        except Exception as e:  # report and go on with the others
            failed.append(f'{key}: {type(e).__name__}: {e}')
            print(f'could not run {key}: {type(e).__name__}: {e}')
    result['could_not_run'] = failed
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2, default=str)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
