"""One optimizer step over mmdet's Mask R-CNN R-50-FPN GN+WS, side by side.

CPU float32, random gradients, SGD(lr=0.02, momentum=0.9, λ=1e-4):
  * EpsShiftedL2OptimWrapperConstructor (ε = 1e-3)
  * torch.optim.SGD(weight_decay=1e-4, foreach=True) over all parameters
  * mmengine's DefaultOptimWrapperConstructor with a paramwise_cfg
  * a per-parameter Python loop of the reference ε-shifted update
The last line ends with our ratio to the foreach SGD step.
    python benchmarks/optimizer_step.py [--repeats 7]
"""
import argparse
import json
import sys

import torch
from mmengine.optim import DefaultOptimWrapperConstructor

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from common import (MASK_RCNN_GN_WS, build_mmdet_model,  # noqa: E402
                    machine_line, print_table, spread, time_side_by_side)

from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor  # noqa: E402
from mmdet_eps_l2.ops.ws_family import eps_shift_weights  # noqa: E402

LR, MOMENTUM, WD, EPS = 0.02, 0.9, 1e-4, 1e-3


def reference_loop_step(params, ws_ids, bufs):
    """The reference (PytorchInsight LSGD --el2) update, one tensor at a
    time, filter statistics per tensor."""
    with torch.no_grad():
        for p in params:
            d = p.grad
            if id(p) in ws_ids:
                flat = p.view(p.shape[0], -1)
                mean = flat.mean(1).view(-1, 1, 1, 1)
                std = flat.std(1).view(-1, 1, 1, 1)
                d = d + WD * ((1 - EPS / std) * (p - mean) + mean)
            else:
                d = d.add(p, alpha=WD)
            buf = bufs.get(id(p))
            if buf is None:
                bufs[id(p)] = buf = d.clone()
            else:
                buf.mul_(MOMENTUM).add_(d)
            p.add_(buf, alpha=-LR)


def make_model(seed=0):
    model = build_mmdet_model(MASK_RCNN_GN_WS, 'WSConv2d')
    for p in model.parameters():
        p.requires_grad_(True)  # the full parameter set, no frozen stage
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=gen) * 1e-3
    return model


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    print(f'# optimizer_step benchmark on {machine_line()}')
    sgd_cfg = dict(type='SGD', lr=LR, momentum=MOMENTUM, weight_decay=WD)
    wrapper_cfg = dict(type='OptimWrapper', optimizer=sgd_cfg)

    ours_model = make_model()
    ours = EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg, dict(eps_l2=dict(eps=EPS)))(ours_model).optimizer
    foreach_model = make_model()
    foreach = torch.optim.SGD(foreach_model.parameters(), lr=LR,
                              momentum=MOMENTUM, weight_decay=WD,
                              foreach=True)
    stock_model = make_model()
    stock = DefaultOptimWrapperConstructor(
        wrapper_cfg, dict(norm_decay_mult=0.))(stock_model).optimizer
    loop_model = make_model()
    loop_params = list(loop_model.parameters())
    loop_ws = set(eps_shift_weights(loop_model))
    loop_bufs = {}

    params = list(ours_model.parameters())
    n_ws = len(eps_shift_weights(ours_model))
    times = time_side_by_side({
        'eps-shifted constructor': ours.step,
        'torch SGD foreach': foreach.step,
        'stock constructor + paramwise_cfg': stock.step,
        'reference per-parameter loop': lambda: reference_loop_step(
            loop_params, loop_ws, loop_bufs),
    }, repeats=args.repeats)
    print_table(
        f'one SGD step, {sum(p.numel() for p in params) / 1e6:.1f} M '
        f'parameters in {len(params)} tensors, {n_ws} ε-shifted WS weights; '
        f'groups: ours {len(ours.param_groups)}, stock '
        f'{len(stock.param_groups)}; median of {args.repeats} alternated '
        'rounds',
        [('step', 'ms', 'ratio to foreach SGD median (min-max)')] +
        [(k, f'{v * 1e3:.1f}', spread(times.ratio(k, 'torch SGD foreach'),
                                      '.2f')) for k, v in times.items()])
    ratio = times.ratio('eps-shifted constructor', 'torch SGD foreach')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(step_ms={k: v * 1e3 for k, v in times.items()},
                           ratio_to_foreach_sgd=ratio), f, indent=2)
    print(f'eps-shifted step / foreach SGD step: {spread(ratio, ".2f")}')
    return ratio


if __name__ == '__main__':
    main()
