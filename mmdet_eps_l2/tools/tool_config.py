"""What this package's tools share: their flags, the config as mmdet's
tools load it, and the checked Runner."""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, Optional

from mmengine.config import Config, DictAction

from ..utils.data_root import retarget_data_root
from .quiet import quiet_runner_logs, silence_known_noise


def load_tool_config(config: str,
                     cfg_options: Optional[dict] = None,
                     work_dir: Optional[str] = None,
                     launcher: str = 'none') -> Config:
    """``config`` with ``--launcher``, ``--cfg-options`` and ``--work-dir``
    applied (default work dir: ``./work_dirs/<config name>``), as mmdet's
    ``tools/train.py`` and ``tools/test.py`` do, plus one thing they don't:
    ``data_root=DIR`` among the options moves every dataset and evaluator
    of the config to DIR (:func:`retarget_data_root`)."""
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        old_root = cfg.get('data_root')
        cfg.merge_from_dict(cfg_options)
        if 'data_root' in cfg_options and isinstance(old_root, str):
            retarget_data_root(cfg, old_root, cfg.data_root)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def add_shared_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher``, ``--verbose-log``,
    ``--no-data-check`` and ``--local-rank``, as train.py and test.py take
    them."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value (data_root=DIR '
                        'moves every split and evaluator)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm',
                                               'mpi'], default='none')
    parser.add_argument(
        '--verbose-log', action='store_true',
        help="keep mmengine's hook-order table and deprecation notes in "
        'the log (dropped by default)')
    parser.add_argument(
        '--no-data-check', action='store_true',
        help='do not read the annotation files before running (their '
        'paths are still checked)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_tool_args(parser: argparse.ArgumentParser, argv=None):
    """Parse ``argv``; set ``LOCAL_RANK`` from ``--local-rank`` when the
    launcher did not (as mmdet's tools do); filter the warnings no user can
    act on (:func:`~.quiet.silence_known_noise`)."""
    silence_known_noise()
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_checked_runner(cfg: Config, args, tool: str):
    """Build the Runner as mmdet's tools do, with ``runner_type =
    'CheckedRunner'`` unless the config names another runner; a config
    check failure or a bad launcher environment exits naming the problem,
    before the work dir exists."""
    import mmdet_eps_l2  # noqa: F401  registers the plugin
    from mmengine.registry import RUNNERS, init_default_scope
    from mmdet.utils import setup_cache_size_limit_of_dynamo

    from ..checks import ConfigCheckError
    from ..checks.data import type_name
    from ..utils import prepare_cpu_distributed

    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if not args.verbose_log:
        quiet_runner_logs()
    if args.no_data_check:
        cfg.data_check = False
    runner_type = type_name(cfg.setdefault('runner_type', 'CheckedRunner'))
    if runner_type != 'CheckedRunner':
        print(f"{tool}: note: runner_type is '{runner_type}': the plugin's "
              'config and data checks (CheckedRunner) do not run',
              file=sys.stderr)
    setup_cache_size_limit_of_dynamo()
    try:
        prepare_cpu_distributed(cfg, args.launcher)  # checks the launcher
    except RuntimeError as e:
        sys.exit(f'{tool}: {e}')
    try:
        return RUNNERS.build(cfg)
    except ConfigCheckError as e:
        sys.exit(f'{tool}: {args.config}: {e}')


def run_checked(run: Callable[[], object], tool: str, config: str) -> int:
    """``run()``; a failed data check (before the loop) exits naming the
    problems instead of a traceback."""
    from ..checks import ConfigCheckError
    try:
        run()
    except ConfigCheckError as e:
        sys.exit(f'{tool}: {config}: {e}')
    return 0
