# The mmdet-eps-l2 plugin (as configs/_base_/eps-l2_plugin.py): the hooks
# and the ε-shifted optimizer settings, to add to yours:
#   custom_hooks = [*custom_hooks, *eps_l2_hooks]   (or eps_l2_hooks alone)
#   optim_wrapper.update(eps_l2_optim_wrapper)
# λ = the optimizer's weight_decay, with its own semantics (coupled for SGD,
# decoupled for AdamW); ε = 1e-3 (the paper's value for WS-ResNet-50; 1e-6
# for WS-ResNet-101).
from mmdet_eps_l2.hooks.rng_state_hook import RNGStateHook
from mmdet_eps_l2.hooks.weight_stats_hook import WeightStatsHook
from mmdet_eps_l2.optim.eps_shifted_l2_constructor import \
    EpsShiftedL2OptimWrapperConstructor

eps_l2_optim_wrapper = dict(
    constructor=EpsShiftedL2OptimWrapperConstructor,
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
eps_l2_hooks = [
    dict(type=WeightStatsHook, interval=50),
    dict(type=RNGStateHook),
]
