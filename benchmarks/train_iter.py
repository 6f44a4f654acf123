"""A full training iteration (forward, backward, optimizer step), side by
side: this package's Mask R-CNN R-50-FPN GN+WS ε-shifted config vs mmdet's
stock gn+ws Mask R-CNN config (mmcv ConvWS, default constructor).

CPU float32, synthetic COCO-like batch (mmdet.testing.demo_mm_inputs),
pretrained init off.  The last line ends with ours / stock.
    python benchmarks/train_iter.py [--repeats 5] [--size 256] [--batch 1]
"""
import argparse
import json
import os.path as osp
import sys

import torch
from mmengine.optim import build_optim_wrapper

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from common import (load_mmdet_config, machine_line,  # noqa: E402
                    print_table, spread, time_side_by_side)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
OURS = osp.join(ROOT, 'configs', 'eps_l2',
                'mask-rcnn_r50_fpn_gn-ws-all_eps-l2_2x_coco.py')
STOCK = 'mmdet::gn+ws/mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py'


def build(config):
    from mmdet.registry import MODELS
    cfg = load_mmdet_config(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper)


def make_step(model, wrapper, batch, size):
    from mmdet.testing import demo_mm_inputs
    packed = demo_mm_inputs(batch, (3, size, size), num_items=[4] * batch,
                            num_classes=80, with_mask=True)

    def step():
        data = model.data_preprocessor(packed, True)
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        wrapper.update_params(loss)
    return step


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    print(f'# train_iter benchmark on {machine_line()}')
    ours_model, ours_wrapper = build(OURS)
    stock_model, stock_wrapper = build(STOCK)
    stock_model.load_state_dict(ours_model.state_dict())
    times = time_side_by_side({
        'ours (WSConv2d + eps-shifted constructor)':
        make_step(ours_model, ours_wrapper, args.batch, args.size),
        'stock (mmcv ConvWS + default constructor)':
        make_step(stock_model, stock_wrapper, args.batch, args.size),
    }, repeats=args.repeats, warmup=1)
    ours_key, stock_key = times
    ratio = times.ratio(ours_key, stock_key)
    print_table(
        f'Mask R-CNN R-50-FPN GN+WS training iteration, batch {args.batch} '
        f'x 3x{args.size}x{args.size}, median of {args.repeats} alternated '
        'rounds',
        [('config', 's', 'ratio to stock median (min-max)')] +
        [(k, f'{v:.3f}', spread(times.ratio(k, stock_key)))
         for k, v in times.items()])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(seconds=dict(times), ratio=ratio), f, indent=2)
    print(f'ours / stock training iteration: {spread(ratio)}')
    return ratio


if __name__ == '__main__':
    main()
