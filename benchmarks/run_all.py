"""``make bench``: every benchmark, one table of side-by-side ratios.

    python benchmarks/run_all.py [--quick] [--json bench_results/bench.json]

Each benchmark alternates its candidates (A/B/A/B...) and takes medians;
the machine and thread count are printed.  Ratios < 1 favour this package.
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
from common import machine_line, print_table  # noqa: E402


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
    rows = [
        ('benchmark', 'measure', 'value', 'goal'),
        ('ws_conv (a)', 'mmcv formula / WSConv2d, standardize fwd+bwd',
         f"{ws['standardize_speedup']:.2f}x", '>= 3x'),
        ('ws_conv (a)', 'mmcv formula / WSConv2d, standardize fwd',
         f"{ws['standardize_forward_speedup']:.2f}x", ''),
        ('ws_conv (b)', 'WSConv2d / mmcv ConvWS, R-50 fwd+bwd',
         f"{ws['backbone_ratio_ws_to_mmcv']:.3f}", '<= 1.0'),
        ('ws_conv (b)', 'WSConv2d / plain Conv2d, R-50 fwd+bwd',
         f"{ws['backbone_ratio_ws_to_plain']:.3f}", '<= 1.03'),
        ('optimizer_step', 'eps-shifted step / foreach SGD step',
         f'{opt_ratio:.2f}', '<= 1.5'),
        ('train_iter', 'ours / stock gn+ws Mask R-CNN iteration',
         f'{it_ratio:.3f}', '<= 1.0'),
    ]
    print()
    print_table(f'# summary ({machine_line()})', rows)
    result = dict(machine=machine_line(), torch=torch.__version__,
                  threads=torch.get_num_threads(), ws_conv=ws,
                  optimizer_step_ratio=opt_ratio, train_iter_ratio=it_ratio)
    with open(args.json, 'w') as f:
        json.dump(result, f, indent=2)
    print(f'written: {args.json}')


if __name__ == '__main__':
    main()
