"""Train a detector: mmdet's ``tools/train.py`` with this plugin's checks.

    python tools/train.py CONFIG [--work-dir D] [--amp] [--auto-scale-lr]
        [--resume [CKPT]] [--cfg-options k=v ...] [--launcher ...]
        [--no-data-check]
    python -m mmdet_eps_l2.tools.train ...     (the same, installed)

mmdet's flow (config, flags, ``RUNNERS.build``, ``runner.train()``), with
the runner the config names, after the plugin's check
(:mod:`mmdet_eps_l2.tools.check`): run once, on rank 0, before any Runner
exists, so a bad config or data set stops every rank with one message
naming every problem and no work dir.  Two additions:
``--cfg-options data_root=DIR`` moves every split and evaluator, and
without CUDA, ``--launcher pytorch`` (torchrun, ``tools/dist_train.sh``)
trains with the gloo backend on CPU.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config

from .check import check_and_build_runner
from .tool_config import add_shared_arguments, load_tool_config, \
    parse_tool_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='enable automatically scaling LR.')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work directory')
    add_shared_arguments(parser)
    return parse_tool_args(parser, argv)


def build_cfg(args) -> Config:
    """The config with the flags applied, as mmdet's train.py does."""
    if not osp.isfile(args.config):
        sys.exit(f'train: config file not found: {args.config}')
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir,
                           args.launcher)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' in cfg and 'enable' in cfg.auto_scale_lr and \
                'base_batch_size' in cfg.auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        else:
            sys.exit('train: --auto-scale-lr needs auto_scale_lr.enable and '
                     'auto_scale_lr.base_batch_size in the config')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            sys.exit(f'train: --resume checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def build_runner(argv=None):
    """Parse ``argv``, check the config once and build the Runner."""
    args = parse_args(argv)
    return check_and_build_runner(build_cfg(args), args, 'train', 'train')


def main(argv=None) -> int:
    build_runner(argv).train()
    return 0


if __name__ == '__main__':
    sys.exit(main())
