"""The ε-shift in torch optimizers (the step hook, torch only) and in
MMEngine (the optimizer-wrapper constructor, when mmengine is there)."""
from ..openmmlab import OPENMMLAB
from .eps_shifted_l2 import (EpsShiftedL2StepHook, eps_shifted_l2_grad,
                             eps_shifted_l2_value, shift_coefficients)

__all__ = [
    'EpsShiftedL2StepHook', 'eps_shifted_l2_grad', 'eps_shifted_l2_value',
    'shift_coefficients'
]

if OPENMMLAB:
    from .eps_shifted_l2_constructor import (
        EpsShiftedL2OptimWrapperConstructor, format_group_table)
    __all__ += ['EpsShiftedL2OptimWrapperConstructor', 'format_group_table']
