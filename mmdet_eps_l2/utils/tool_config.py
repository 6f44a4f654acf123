"""The config as this package's tools load it (as mmdet's tools do)."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

from .data_root import retarget_data_root


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
