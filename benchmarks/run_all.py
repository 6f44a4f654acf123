"""``make bench``: every benchmark, one table of side-by-side ratios and
one of kernel-launch counts.

    python benchmarks/run_all.py [--quick] [--json bench_results/bench.json]

Each timing benchmark alternates its candidates (A/B/A/B...); every ratio
is given as the median and the range (min-max) over the rounds; the
machine and thread count are printed.  The launch counts (top-level aten
ops per call, :mod:`op_counts`) do not depend on the machine.
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import eps_shift  # noqa: E402
import op_counts  # noqa: E402
import optimizer_step  # noqa: E402
import train_iter  # noqa: E402
import ws_conv  # noqa: E402
from common import machine_line, print_table, spread  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--quick', action='store_true',
                        help='fewer repetitions and smaller inputs')
    parser.add_argument('--json', default=osp.join('bench_results',
                                                   'bench.json'))
    args = parser.parse_args(argv)
    reps = ['--repeats', '3'] if args.quick else []
    os.makedirs(osp.dirname(args.json) or '.', exist_ok=True)
    counts = op_counts.main([])
    ws = ws_conv.main(reps + (['--backbone-repeats', '2', '--size', '256']
                              if args.quick else []))
    shift = eps_shift.main(reps)
    opt_ratio = optimizer_step.main(reps)
    it_ratio = train_iter.main(reps + (['--size', '192']
                                       if args.quick else []))

    def row(name, measure, r, fmt='.3f'):
        return (name, measure, spread(r, fmt))

    rows = [
        ('benchmark', 'measure', 'median (min-max) of rounds'),
        row('ws_conv (a)', 'mmcv formula / WSConv2d, standardize fwd+bwd',
            ws['standardize_speedup_spread'], '.2f'),
        row('ws_conv (a)', 'mmcv formula / WSConv2d, standardize fwd',
            ws['standardize_forward_speedup_spread'], '.2f'),
        row('ws_conv (b)', 'WSConv2d / mmcv ConvWS, R-50 fwd+bwd',
            ws['backbone_ratio_ws_to_mmcv_spread']),
        row('ws_conv (b)', 'WSConv2d / plain Conv2d, R-50 fwd+bwd',
            ws['backbone_ratio_ws_to_plain_spread']),
        row('eps_shift', 'eager shift / foreach SGD step',
            shift['ratios']['eps-shift, eager'], '.2f'),
        row('eps_shift', 'compiled shift / foreach SGD step',
            shift['ratios']['eps-shift, compiled'], '.2f'),
        row('optimizer_step', 'eps-shifted step / foreach SGD step',
            opt_ratio, '.2f'),
        row('train_iter', 'ours / stock gn+ws Mask R-CNN iteration',
            it_ratio),
    ]
    print()
    n = counts['shifted_tensors']
    print_table('# top-level aten ops per call (each at least one GPU '
                'launch)',
                [('call', 'ops')] +
                [(k, str(v)) for k, v in counts.items()
                 if k != 'shifted_tensors'] +
                [(f'eps-shift per tensor ({n} tensors)',
                  f"{counts['eps-shift'] / n:.1f}")])
    print()
    print_table(f'# summary ({machine_line()})', rows)
    result = dict(machine=machine_line(), torch=torch.__version__,
                  threads=torch.get_num_threads(), op_counts=counts,
                  ws_conv=ws, eps_shift=shift,
                  optimizer_step_ratio=opt_ratio, train_iter_ratio=it_ratio)
    with open(args.json, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'written: {args.json}')


if __name__ == '__main__':
    main()
