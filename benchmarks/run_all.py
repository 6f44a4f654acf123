"""``make bench``: every benchmark, one table of side-by-side ratios.

    python benchmarks/run_all.py [--quick] [--json bench_results/bench.json]

Each benchmark alternates its candidates (A/B/A/B...); every ratio is
given as the median and the range over the rounds, with its goal and
whether this machine meets it; the machine and thread count are printed.
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
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
    ws = ws_conv.main(reps + (['--backbone-repeats', '2', '--size', '256']
                              if args.quick else []))
    opt_ratio = optimizer_step.main(reps)
    it_ratio = train_iter.main(reps + (['--size', '192']
                                       if args.quick else []))

    def row(name, measure, r, goal, met, fmt='.3f'):
        return (name, measure, spread(r, fmt), goal,
                'yes' if met(r['median']) else 'NO (median)')

    rows = [
        ('benchmark', 'measure', 'median (min-max) of rounds', 'goal',
         'met here'),
        row('ws_conv (a)', 'mmcv formula / WSConv2d, standardize fwd+bwd',
            ws['standardize_speedup_spread'], '>= 3x', lambda m: m >= 3,
            '.2f'),
        row('ws_conv (a)', 'mmcv formula / WSConv2d, standardize fwd',
            ws['standardize_forward_speedup_spread'], '', lambda m: True,
            '.2f'),
        row('ws_conv (b)', 'WSConv2d / mmcv ConvWS, R-50 fwd+bwd',
            ws['backbone_ratio_ws_to_mmcv_spread'], '<= 1.0',
            lambda m: m <= 1.0),
        row('ws_conv (b)', 'WSConv2d / plain Conv2d, R-50 fwd+bwd',
            ws['backbone_ratio_ws_to_plain_spread'], '<= 1.03',
            lambda m: m <= 1.03),
        row('optimizer_step', 'eps-shifted step / foreach SGD step',
            opt_ratio, '<= 1.5', lambda m: m <= 1.5, '.2f'),
        row('train_iter', 'ours / stock gn+ws Mask R-CNN iteration',
            it_ratio, '<= 1.0', lambda m: m <= 1.0),
    ]
    print()
    print_table(f'# summary ({machine_line()})', rows)
    missed = [f'{r[0]}: {r[1]}' for r in rows[1:] if r[4] != 'yes']
    print('goals this machine does not meet: ' +
          ('; '.join(missed) if missed else 'none'))
    result = dict(machine=machine_line(), torch=torch.__version__,
                  threads=torch.get_num_threads(), ws_conv=ws,
                  optimizer_step_ratio=opt_ratio, train_iter_ratio=it_ratio,
                  goals_missed=missed)
    with open(args.json, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'written: {args.json}')


if __name__ == '__main__':
    main()
