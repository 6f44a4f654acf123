"""mmdet-eps-l2: weight-standardized convs and the ε-shifted L2 regularizer
(arXiv 1911.05920) for MMDetection.

``import mmdet_eps_l2`` (or ``custom_imports=dict(imports=['mmdet_eps_l2'])``
in a config) registers ``WSConv2d``, ``EpsShiftedL2OptimWrapperConstructor``,
``WeightStatsHook``, ``RNGStateHook`` and ``CheckedRunner`` in mmdet's
registries, lets torch
load mmengine runner checkpoints with ``weights_only=True`` and lets mmdet
evaluate on COCO files without ``"info"`` (:mod:`.utils.coco_info`).
"""
from .datasets import generate_toy_coco
from .hooks import RNGStateHook, WeightStatsHook
from .models import WSConv2d, fold_ws_convs, strip_ws_from_config
from .ops import standardize_weight
from .optim import (EpsShiftedL2OptimWrapperConstructor, eps_shifted_l2_grad,
                    eps_shifted_l2_value)
from .runner import CheckedRunner
from .utils import allow_mmengine_checkpoint_globals
from .utils.coco_info import accept_coco_without_info
from .utils.quiet import silence_known_noise
from .version import __version__

allow_mmengine_checkpoint_globals()
silence_known_noise()
accept_coco_without_info()

__all__ = [
    '__version__', 'WSConv2d', 'EpsShiftedL2OptimWrapperConstructor',
    'WeightStatsHook', 'RNGStateHook', 'CheckedRunner', 'standardize_weight',
    'eps_shifted_l2_grad', 'eps_shifted_l2_value', 'fold_ws_convs',
    'strip_ws_from_config', 'generate_toy_coco',
    'allow_mmengine_checkpoint_globals'
]
