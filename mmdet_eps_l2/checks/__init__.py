"""Guardrails of the tools and of ``runner_type = 'CheckedRunner'``: a
config and its data are checked before anything trains, and every problem
is reported with the config key or file it concerns.

:func:`check_config` (:mod:`.config`) checks the config, :func:`check_data`
the data a loop reads (with :func:`check_coco_data` of :mod:`.data`);
:class:`CheckedRunner` is the one place that calls them, for this
package's tools and for mmdet's.
"""
from .checked_runner import CheckedRunner
from .config import ConfigCheckError, check_config, check_data
from .data import check_coco_data

__all__ = ['CheckedRunner', 'ConfigCheckError', 'check_config', 'check_data',
           'check_coco_data']
