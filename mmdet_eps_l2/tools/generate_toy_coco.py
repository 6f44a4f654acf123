"""Generate a small COCO-format toy-shapes data set (deterministic).

    python tools/generate_toy_coco.py [OUT_DIR] [--train 400] [--val 100]
        [--size 128 | --size WIDTH HEIGHT] [--classes disc=circle box=square]
        [--coco-layout]

Writes OUT_DIR/annotations/instances_{train,val}.json and the PNG images in
OUT_DIR/train/ and OUT_DIR/val/: squares, circles and triangles on a noisy
background, each with its polygon mask, box and area.  With --coco-layout,
mmdet's COCO layout instead (instances_{train,val}2017.json, train2017/,
val2017/, COCO's 80 categories, the shapes drawn as person, car and dog),
so that any stock mmdet COCO config trains on it with
--cfg-options data_root=OUT_DIR/.  The same arguments always give the same
files.
"""
import argparse
import sys

from .toy_shapes import CLASSES, generate_toy_coco


def parse_classes(items):
    """``['disc=circle', 'box=square']`` -> ``{'disc': 'circle', ...}``."""
    classes = {}
    for item in items:
        name, sep, shape = item.partition('=')
        if not sep or not name or shape not in CLASSES:
            raise argparse.ArgumentTypeError(
                f'--classes: expected NAME=SHAPE with SHAPE one of '
                f'{list(CLASSES)}, got {item!r}')
        classes[name] = shape
    return classes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('out_dir', nargs='?', default='data/toy_coco',
                        help='where to write annotations/, train/ and val/')
    parser.add_argument('--train', type=int, default=400,
                        help='number of training images')
    parser.add_argument('--val', type=int, default=100,
                        help='number of validation images')
    parser.add_argument('--size', type=int, nargs='+', default=[128],
                        metavar='PX',
                        help='image side, or WIDTH HEIGHT (each >= 32)')
    parser.add_argument('--classes', nargs='+', metavar='NAME=SHAPE',
                        help='category names and the shape drawn for each '
                        f'(shapes: {", ".join(CLASSES)}); default: the '
                        'three shapes under their own names')
    parser.add_argument('--no-info', action='store_true',
                        help='leave out the top-level "info" of the files')
    parser.add_argument('--coco-layout', action='store_true',
                        help="mmdet's COCO file and folder names and COCO "
                        'category names')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the generator')
    args = parser.parse_args(argv)
    if len(args.size) not in (1, 2):
        parser.error('--size takes one or two numbers')
    try:
        classes = parse_classes(args.classes) if args.classes else None
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))
    size = args.size[0] if len(args.size) == 1 else tuple(args.size)
    paths = generate_toy_coco(args.out_dir, args.train, args.val, size,
                              seed=args.seed, classes=classes,
                              with_info=not args.no_info,
                              coco_layout=args.coco_layout)
    for split, path in paths.items():
        print(f'{split}: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
