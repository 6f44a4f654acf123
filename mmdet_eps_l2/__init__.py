"""mmdet-eps-l2: weight-standardized convs and the ε-shifted L2 regularizer
(arXiv 1911.05920) for MMDetection.

``import mmdet_eps_l2`` (or ``custom_imports=dict(imports=['mmdet_eps_l2'])``
in a config) does two things:

* it registers :class:`~mmdet_eps_l2.models.WSConv2d`,
  :class:`~mmdet_eps_l2.optim.EpsShiftedL2OptimWrapperConstructor`,
  :class:`~mmdet_eps_l2.hooks.WeightStatsHook` and
  :class:`~mmdet_eps_l2.hooks.RNGStateHook` in the mmdet registries;
* it adds the classes of mmengine's runner checkpoints to torch's
  ``weights_only`` allow-list (:mod:`mmdet_eps_l2.stack_fixes`).

Nothing else changes in other libraries.  The plugin is ``ops`` (the maths,
torch only: importable without mmengine, mmcv or mmdet), ``models``,
``optim`` and ``hooks``; ``checks``, ``tools``, ``utils`` and ``configs``
serve the tools and the configs.  Each name is exported by its subpackage.
"""
from .openmmlab import OPENMMLAB
from .version import __version__

__all__ = ['__version__']

if OPENMMLAB:
    from . import hooks, models, optim  # noqa: F401  (registers)
    from .stack_fixes import allow_mmengine_checkpoint_globals

    allow_mmengine_checkpoint_globals()
