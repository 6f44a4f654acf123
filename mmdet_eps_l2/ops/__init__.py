from .weight_standardization import (CONVENTIONS, check_non_negative,
                                     check_ws_weight_shape, filter_mean_std,
                                     standardize_weight)

__all__ = [
    'CONVENTIONS', 'check_non_negative', 'check_ws_weight_shape',
    'filter_mean_std', 'standardize_weight'
]
