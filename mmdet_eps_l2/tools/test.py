"""Test (and evaluate) a detector: mmdet's ``tools/test.py`` with this
plugin's checks.

    python tools/test.py CONFIG CHECKPOINT [--work-dir D] [--out r.pkl]
        [--cfg-options k=v ...] [--launcher none|pytorch]
    python -m mmdet_eps_l2.tools.test ...      (the same, installed)

Checkpoints saved by an mmengine Runner load with torch's
``weights_only=True`` check on (``import mmdet_eps_l2`` allow-lists exactly
the classes they hold: :mod:`mmdet_eps_l2.stack_fixes`).
"""
import argparse
import os.path as osp
import sys

from .check import check_and_build_runner
from .tool_config import add_shared_arguments, load_tool_config, \
    parse_tool_args


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
    cfg.resume = False  # a resumed run's work-dir config says True
    if args.out is not None:
        # in the config, so that the Runner builds it
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = list(evaluators) + [
            dict(type='DumpDetResults', out_file_path=args.out)]
    check_and_build_runner(cfg, args, 'test', 'test').test()
    return 0


if __name__ == '__main__':
    sys.exit(main())
