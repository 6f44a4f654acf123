"""Generate the small COCO-format toy-shapes data set (deterministic).

    python tools/generate_toy_coco.py data/toy_coco [--train 400 --val 100]
"""
import argparse
import sys

from mmdet_eps_l2.datasets import generate_toy_coco


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out_dir', nargs='?', default='data/toy_coco')
    parser.add_argument('--train', type=int, default=400)
    parser.add_argument('--val', type=int, default=100)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    paths = generate_toy_coco(args.out_dir, args.train, args.val, args.size,
                              seed=args.seed)
    for split, path in paths.items():
        print(f'{split}: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
