"""What this package's tools share: their flags and the config as mmdet's
tools load it."""
import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction

from ..utils.data_root import retarget_data_root
from .quiet import silence_known_noise


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
    """``--cfg-options``, ``--launcher``, ``--no-data-check`` and
    ``--local-rank``, as train.py and test.py take them."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings, key=value (data_root=DIR '
                        'moves every split and evaluator)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm',
                                               'mpi'], default='none')
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
