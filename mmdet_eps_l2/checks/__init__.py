"""Guardrails of the tools: a config and its data are checked before
anything is written, and every problem is reported with the config key or
file it concerns.

:func:`check_config` (:mod:`.config`) checks the config and the model it
builds, :func:`check_data` the data a loop reads (with
:func:`check_coco_data` of :mod:`.data`); :mod:`mmdet_eps_l2.tools.check`
runs them, as a command and in this package's ``train`` and ``test``.
"""
from .config import ConfigCheckError, check_config, check_data
from .data import check_coco_data

__all__ = ['ConfigCheckError', 'check_config', 'check_data',
           'check_coco_data']
