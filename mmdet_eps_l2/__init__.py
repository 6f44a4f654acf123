"""mmdet-eps-l2: weight-standardized convs and the ε-shifted L2 regularizer
(arXiv 1911.05920) for MMDetection.

``import mmdet_eps_l2`` (or ``custom_imports=dict(imports=['mmdet_eps_l2'])``
in a config) registers ``WSConv2d``, ``EpsShiftedL2OptimWrapperConstructor``,
``WeightStatsHook``, ``RNGStateHook`` and ``CheckedRunner`` in mmdet's
registries, lets torch load mmengine runner checkpoints with
``weights_only=True`` and lets mmdet evaluate on COCO files without
``"info"`` and reuse the data check's parse (:mod:`.utils.coco_info`).

The maths (:mod:`mmdet_eps_l2.ops`: weight standardization, the functional
ε-shift, the parameter-group keys, which modules are WS convs) needs torch
alone: where mmengine, mmcv or mmdet are missing, ``import
mmdet_eps_l2.ops`` still works and nothing is registered.
"""
from . import ops
from .openmmlab import OPENMMLAB
from .version import __version__

__all__ = ['__version__', 'ops', 'OPENMMLAB']

if OPENMMLAB:
    from .hooks import RNGStateHook, WeightStatsHook
    from .models import WSConv2d, fold_ws_convs
    from .ops import (eps_shifted_l2_grad, eps_shifted_l2_value,
                      standardize_weight)
    from .optim import EpsShiftedL2OptimWrapperConstructor
    from .runner import CheckedRunner
    from .utils import allow_mmengine_checkpoint_globals
    from .utils.coco_info import patch_mmdet_coco_api
    from .utils.quiet import silence_known_noise

    allow_mmengine_checkpoint_globals()
    silence_known_noise()
    patch_mmdet_coco_api()

    __all__ += [
        'WSConv2d', 'EpsShiftedL2OptimWrapperConstructor', 'WeightStatsHook',
        'RNGStateHook', 'CheckedRunner', 'standardize_weight',
        'eps_shifted_l2_grad', 'eps_shifted_l2_value', 'fold_ws_convs',
        'allow_mmengine_checkpoint_globals'
    ]
