"""The maths, with torch alone: weight standardization, the ε-shifted L2
regularizer (functional), the parameter-group keys and which modules are
weight-standardized.  Importable without mmengine, mmcv or mmdet."""
from . import param_groups
from .eps_shift import (MODES, eps_shifted_l2_, eps_shifted_l2_grad,
                        eps_shifted_l2_value)
from .weight_standardization import (CONVENTIONS, check_non_negative,
                                     check_ws_weight_shape, filter_mean_std,
                                     standardize_weight)

__all__ = [
    'CONVENTIONS', 'MODES', 'check_non_negative', 'check_ws_weight_shape',
    'eps_shifted_l2_', 'eps_shifted_l2_grad', 'eps_shifted_l2_value',
    'filter_mean_std', 'param_groups',
    'standardize_weight'
]
