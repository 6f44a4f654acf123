from .weight_stats_hook import WeightStatsHook, layer_group_of

__all__ = ['WeightStatsHook', 'layer_group_of']
