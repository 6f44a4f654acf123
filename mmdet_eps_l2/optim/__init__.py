from .eps_shifted_l2 import (EpsShiftedL2StepHook, eps_shifted_l2_grad,
                             eps_shifted_l2_value, shift_coefficients)
from .eps_shifted_l2_constructor import (EpsShiftedL2OptimWrapperConstructor,
                                         format_group_table)
from .ws_modules import eps_shift_weights, is_ws_conv, ws_conv_types

__all__ = [
    'EpsShiftedL2OptimWrapperConstructor', 'EpsShiftedL2StepHook',
    'eps_shifted_l2_grad', 'eps_shifted_l2_value', 'shift_coefficients',
    'format_group_table', 'eps_shift_weights', 'is_ws_conv', 'ws_conv_types'
]
