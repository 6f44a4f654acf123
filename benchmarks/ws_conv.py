"""WSConv2d vs mmcv ConvWS vs plain Conv2d, float32, side by side.

(a) standardizing (forward; forward + backward) all WS weights of mmdet's Mask R-CNN
    R-50-FPN GN+WS: this package's fused autograd vs mmcv's formula;
(b) forward + backward of the GN+WS ResNet-50 backbone on a 2x3x512x512
    batch with WSConv2d, with mmcv ConvWS and with plain Conv2d.

The last line ends with the speed-up of (a).
    python benchmarks/ws_conv.py [--repeats 7] [--size 512] [--device cuda]
"""
import argparse
import json
import sys

import torch
from mmcv.cnn.bricks.conv_ws import ConvWS2d

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from common import (MASK_RCNN_GN_WS, build_mmdet_model,  # noqa: E402
                    machine_line, mmcv_formula, print_table, spread,
                    standardize_step, synchronizer, time_side_by_side)

from mmdet_eps_l2.ops import standardize_weight  # noqa: E402


def bench_standardization(repeats, device='cpu'):
    """Forward only, and forward + backward with every standardized weight
    alive until the backward (as in a training iteration)."""
    model = build_mmdet_model(MASK_RCNN_GN_WS)
    weights = [
        m.weight.detach().to(device).requires_grad_(True)
        for m in model.modules() if isinstance(m, ConvWS2d)
    ]
    grads = [torch.randn_like(w) for w in weights]

    def forward(fn):
        def step():
            with torch.no_grad():
                outs = [fn(w) for w in weights]  # noqa: F841
        return step

    times = time_side_by_side(
        {
            'ours fwd': forward(standardize_weight),
            'mmcv fwd': forward(mmcv_formula),
            'ours': standardize_step(standardize_weight, weights, grads),
            'mmcv': standardize_step(mmcv_formula, weights, grads),
        },
        repeats=repeats, sync=synchronizer(device))
    return len(weights), sum(w.numel() for w in weights), times


def bench_backbone(repeats, size, device='cpu'):
    torch.manual_seed(0)
    x = torch.randn(2, 3, size, size, device=device)
    models = {
        name: build_mmdet_model(MASK_RCNN_GN_WS, conv).backbone.to(device)
        for name, conv in (('WSConv2d', 'WSConv2d'), ('mmcv ConvWS', 'ConvWS'),
                           ('plain Conv2d', 'plain'))
    }
    state = models['WSConv2d'].state_dict()
    for m in models.values():
        m.load_state_dict(state)
        m.train()

    def run(model):
        def step():
            outs = model(x)
            sum(o.float().mean() for o in outs).backward()
            model.zero_grad(set_to_none=True)
        return step

    return time_side_by_side({k: run(m) for k, m in models.items()},
                             repeats=repeats, warmup=1,
                             sync=synchronizer(device))


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--backbone-repeats', type=int, default=5)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--json', help='write the figures here')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    print(f'# ws_conv benchmark on {machine_line(args.device)}')
    n, numel, ta = bench_standardization(args.repeats, args.device)
    tb = bench_backbone(args.backbone_repeats, args.size, args.device)
    speedup = ta['mmcv'] / ta['ours']
    fwd_speedup = ta['mmcv fwd'] / ta['ours fwd']
    fwd_spread = ta.ratio('mmcv fwd', 'ours fwd')
    both_spread = ta.ratio('mmcv', 'ours')
    print_table(f'(a) standardize {n} WS weights ({numel / 1e6:.1f} M '
                f'elements), median of {args.repeats} alternated rounds', [
                    ('pass', 'WSConv2d ms', 'mmcv formula ms',
                     'speed-up median (min-max)'),
                    ('forward', f"{ta['ours fwd'] * 1e3:.1f}",
                     f"{ta['mmcv fwd'] * 1e3:.1f}", spread(fwd_spread, '.2f')),
                    ('forward + backward', f"{ta['ours'] * 1e3:.1f}",
                     f"{ta['mmcv'] * 1e3:.1f}", spread(both_spread, '.2f')),
                ])
    base = tb['plain Conv2d']
    print_table(f'(b) GN+WS ResNet-50 backbone forward + backward, '
                f'2x3x{args.size}x{args.size}, median of '
                f'{args.backbone_repeats} alternated rounds',
                [('conv', 's', 'ratio to plain Conv2d median (min-max)')] +
                [(k, f'{v:.3f}', spread(tb.ratio(k, 'plain Conv2d')))
                 for k, v in tb.items()])
    result = dict(standardize_ms={k: v * 1e3 for k, v in ta.items()},
                  standardize_speedup=speedup,
                  standardize_forward_speedup=fwd_speedup,
                  standardize_speedup_spread=both_spread,
                  standardize_forward_speedup_spread=fwd_spread,
                  backbone_s=dict(tb),
                  backbone_ratio_ws_to_plain=tb['WSConv2d'] / base,
                  backbone_ratio_ws_to_mmcv=tb['WSConv2d'] /
                  tb['mmcv ConvWS'],
                  backbone_ratio_ws_to_plain_spread=tb.ratio(
                      'WSConv2d', 'plain Conv2d'),
                  backbone_ratio_ws_to_mmcv_spread=tb.ratio(
                      'WSConv2d', 'mmcv ConvWS'))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    print(f"WSConv2d backbone vs mmcv ConvWS: "
          f"{result['backbone_ratio_ws_to_mmcv']:.3f}x time, vs plain "
          f"Conv2d: {result['backbone_ratio_ws_to_plain']:.3f}x time")
    print('standardization speed-up over mmcv (a), forward + backward: '
          f'{speedup:.2f}')
    return result


if __name__ == '__main__':
    main()
