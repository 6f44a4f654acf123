from .rng_state_hook import RNGStateHook
from .weight_stats_hook import WeightStatsHook, layer_group_of

__all__ = ['RNGStateHook', 'WeightStatsHook', 'layer_group_of']
