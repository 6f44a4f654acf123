# The mmdet-eps-l2 plugin (as configs/_base_/eps-l2_plugin.py): the checked
# runner, the hooks, and the ε-shifted optimizer settings to merge into
# yours:  optim_wrapper.update(eps_l2_optim_wrapper)
# λ = the optimizer's weight_decay, ε = 1e-3 (the paper's value for
# WS-ResNet-50; 1e-6 for WS-ResNet-101).
from mmdet_eps_l2.hooks.rng_state_hook import RNGStateHook
from mmdet_eps_l2.hooks.weight_stats_hook import WeightStatsHook
from mmdet_eps_l2.optim.eps_shifted_l2_constructor import \
    EpsShiftedL2OptimWrapperConstructor
from mmdet_eps_l2.checks.checked_runner import CheckedRunner

runner_type = CheckedRunner
eps_l2_optim_wrapper = dict(
    constructor=EpsShiftedL2OptimWrapperConstructor,
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
custom_hooks = [
    dict(type=WeightStatsHook, interval=50),
    dict(type=RNGStateHook),
]
