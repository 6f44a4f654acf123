# The mmdet-eps-l2 plugin for any mmdet detector config.
#
#   _base_ = ['mmdet::...your detector...',
#             'mmdet_eps_l2::_base_/eps-l2_plugin.py']
#   optim_wrapper = {{_base_.eps_l2_optim_wrapper}}   # merged into yours
#
# The ε-shifted L2 regularizer (arXiv 1911.05920) replaces weight decay on
# the weights of weight-standardized convs: λ = the optimizer's
# weight_decay, ε = 1e-3 (the paper's value for WS-ResNet-50).
custom_imports = dict(imports=['mmdet_eps_l2'], allow_failed_imports=False)

eps_l2_optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))

# filter std σ, fraction near ε, effective lr and gradient norms per layer
# group every 50 iterations; torch's RNG state kept in checkpoints so a
# resumed run continues exactly
custom_hooks = [
    dict(type='WeightStatsHook', interval=50),
    dict(type='RNGStateHook'),
]
