from .weight_standardization import (CONVENTIONS, check_eps,
                                     check_ws_weight_shape, filter_mean_std,
                                     standardize_weight)

__all__ = [
    'CONVENTIONS', 'check_eps', 'check_ws_weight_shape', 'filter_mean_std',
    'standardize_weight'
]
