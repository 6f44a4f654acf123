"""Fold weight standardization into plain conv weights for deployment.

    python tools/fold_ws.py CONFIG CHECKPOINT OUT.pth [--out-config OUT.py]

Builds the model of CONFIG, loads CHECKPOINT, replaces every WS conv
(``WSConv2d`` / mmcv ``ConvWS``) by an ``nn.Conv2d`` holding its standardized
weight, and saves the state dict to OUT.pth.  ``--out-config`` writes the
matching config with plain convs and without this plugin, so the exported
detector runs with stock mmdet/mmcv (e.g. mmdet's ``tools/test.py``).
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='output checkpoint (.pth)')
    parser.add_argument('--out-config', help='write a plugin-free config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            sys.exit(f'fold_ws: file not found: {path}')
    import mmdet_eps_l2
    from mmdet.registry import MODELS
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    folded = mmdet_eps_l2.fold_ws_convs(model)
    if folded == 0:
        sys.exit(f'fold_ws: {args.config} has no WS conv to fold')
    torch.save({'state_dict': model.state_dict(),
                'meta': dict(folded_ws_convs=folded)}, args.out)
    print(f'folded {folded} WS convs -> {args.out}')
    if args.out_config:
        plain = Config(mmdet_eps_l2.strip_ws_from_config(cfg.to_dict()))
        plain.dump(args.out_config)
        print(f'plugin-free config -> {args.out_config}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
