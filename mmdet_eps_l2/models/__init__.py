from .fold_ws import fold_ws_convs, folded_weight
from .ws_conv import WSConv2d

__all__ = [
    'WSConv2d', 'fold_ws_convs', 'folded_weight'
]
