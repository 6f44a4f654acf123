"""Train a detector: mmdet's tools/train.py plus this plugin's checks.

Same flags as mmdet's (``--work-dir``, ``--amp``, ``--auto-scale-lr``,
``--resume``, ``--cfg-options``, ``--launcher``), plus ``--no-data-check``
and ``--verbose-log``.  Before anything runs the config and the data are
checked (:func:`mmdet_eps_l2.utils.check_config`) and a clear error names
what is wrong.  Without CUDA, ``--launcher pytorch`` (torchrun,
``tools/dist_train.sh``) trains with the gloo backend on CPU.
"""
import argparse
import os.path as osp
import sys

from mmdet_eps_l2.utils.quiet import silence_known_noise
from mmdet_eps_l2.utils.tool_config import (add_shared_arguments,
                                            load_tool_config,
                                            parse_tool_args)
from mmengine.config import Config

silence_known_noise()  # before mmengine reads any config


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


def load_config(args) -> Config:
    """The config with the flags applied
    (:func:`mmdet_eps_l2.utils.tool_config.load_tool_config`)."""
    return load_tool_config(args.config, args.cfg_options, args.work_dir,
                            args.launcher)


def build_cfg(args) -> Config:
    if not osp.isfile(args.config):
        sys.exit(f'train: config file not found: {args.config}')
    cfg = load_config(args)
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
    """Parse ``argv``, check the config and build the Runner."""
    args = parse_args(argv)
    cfg = build_cfg(args)

    import mmdet_eps_l2  # noqa: F401  registers the plugin
    from mmdet_eps_l2.utils import (ConfigCheckError, check_config,
                                    prepare_cpu_distributed)
    from mmdet_eps_l2.utils.preflight import type_name
    from mmengine.registry import RUNNERS, init_default_scope
    from mmengine.runner import Runner
    from mmdet.utils import setup_cache_size_limit_of_dynamo

    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if not args.verbose_log:
        from mmdet_eps_l2.utils.quiet import quiet_runner_logs
        quiet_runner_logs()
    try:
        notes = check_config(cfg, inspect_data=not args.no_data_check)
    except ConfigCheckError as e:
        sys.exit(f'train: {args.config}: {e}')
    for note in notes:
        print(f'train: note: {note}', file=sys.stderr)
    setup_cache_size_limit_of_dynamo()
    try:
        prepare_cpu_distributed(cfg, args.launcher)  # checks the launcher
    except RuntimeError as e:
        sys.exit(f'train: {e}')

    # checked above: CheckedRunner (the plugin's runner_type) would only
    # check again
    if type_name(cfg.get('runner_type', 'CheckedRunner')) == 'CheckedRunner':
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def main(argv=None) -> int:
    build_runner(argv).train()
    return 0


if __name__ == '__main__':
    sys.exit(main())
