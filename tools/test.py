"""Test (and evaluate) a detector: mmdet's tools/test.py plus checks.

    python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out r.pkl]
        [--cfg-options k=v ...] [--launcher none|pytorch]

Checkpoints saved by an mmengine Runner load with torch's
``weights_only=True`` check on (``import mmdet_eps_l2`` allow-lists exactly
the classes they hold).
"""
import argparse
import os.path as osp
import sys

from mmdet_eps_l2.utils.quiet import silence_known_noise
from mmdet_eps_l2.utils.tool_config import (add_shared_arguments,
                                            load_tool_config,
                                            parse_tool_args)

silence_known_noise()  # before mmengine reads any config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to save the metrics')
    parser.add_argument('--out', help='dump predictions to a .pkl file')
    add_shared_arguments(parser)
    return parse_tool_args(parser, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'test: {what} file not found: {path}')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        sys.exit(f'test: --out must be a .pkl file, got {args.out}')
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir,
                           args.launcher)
    cfg.load_from = args.checkpoint

    import mmdet_eps_l2  # noqa: F401
    from mmdet_eps_l2.utils import (ConfigCheckError, check_config,
                                    prepare_cpu_distributed)
    from mmdet_eps_l2.utils.preflight import type_name
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmdet.registry import RUNNERS

    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if not args.verbose_log:
        from mmdet_eps_l2.utils.quiet import quiet_runner_logs
        quiet_runner_logs()
    try:
        notes = check_config(cfg, splits=('test_dataloader',
                                          'test_evaluator'),
                             inspect_data=not args.no_data_check)
    except ConfigCheckError as e:
        sys.exit(f'test: {args.config}: {e}')
    for note in notes:
        print(f'test: note: {note}', file=sys.stderr)
    try:
        prepare_cpu_distributed(cfg, args.launcher)  # checks the launcher
    except RuntimeError as e:
        sys.exit(f'test: {e}')
    # checked above: CheckedRunner (the plugin's runner_type) would only
    # check again
    checked = type_name(cfg.get('runner_type', 'CheckedRunner'))
    runner = Runner.from_cfg(cfg) if checked == 'CheckedRunner' \
        else RUNNERS.build(cfg)
    if args.out is not None:
        from mmdet.evaluation import DumpDetResults
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()
    return 0


if __name__ == '__main__':
    sys.exit(main())
