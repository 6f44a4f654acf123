"""The ε-shift in torch optimizers (the step hook, torch only) and in
MMEngine (the optimizer-wrapper constructor, when mmengine is there)."""
from ..openmmlab import OPENMMLAB
from .step_hook import EpsShiftedL2StepHook, native_decay_mode

__all__ = ['EpsShiftedL2StepHook', 'native_decay_mode']

if OPENMMLAB:
    from .eps_shifted_l2_constructor import (
        EpsShiftedL2OptimWrapperConstructor, format_group_table)
    __all__ += ['EpsShiftedL2OptimWrapperConstructor', 'format_group_table']
