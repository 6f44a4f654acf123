"""mmdet-eps-l2: weight-standardized convs and the ε-shifted L2 regularizer
(arXiv 1911.05920) for MMDetection.

``import mmdet_eps_l2`` (or ``custom_imports=dict(imports=['mmdet_eps_l2'])``
in a config) registers ``WSConv2d``, ``EpsShiftedL2OptimWrapperConstructor``
``WeightStatsHook`` and ``RNGStateHook`` in mmdet's registries, and lets torch load mmengine
runner checkpoints with ``weights_only=True``.
"""
from .datasets import generate_toy_coco
from .hooks import RNGStateHook, WeightStatsHook
from .models import WSConv2d, fold_ws_convs, strip_ws_from_config
from .ops import standardize_weight
from .optim import (EpsShiftedL2OptimWrapperConstructor, eps_shifted_l2_grad,
                    eps_shifted_l2_value)
from .utils import allow_mmengine_checkpoint_globals
from .version import __version__

allow_mmengine_checkpoint_globals()

__all__ = [
    '__version__', 'WSConv2d', 'EpsShiftedL2OptimWrapperConstructor',
    'WeightStatsHook', 'RNGStateHook', 'standardize_weight', 'eps_shifted_l2_grad',
    'eps_shifted_l2_value', 'fold_ws_convs', 'strip_ws_from_config',
    'generate_toy_coco', 'allow_mmengine_checkpoint_globals'
]
