# The mmdet-eps-l2 plugin for any mmdet detector config: the import that
# registers it, the hooks, and the ε-shifted optimizer settings as a
# variable to merge into yours.  Inherit it by path (mmengine resolves the
# `pkg::` prefix only for OpenMMLab's own packages):
#
#   _base_ = ['mmdet::...your detector...',
#             'path/to/mmdet-eps-l2/configs/_base_/eps-l2_plugin.py']
#   optim_wrapper = {{_base_.eps_l2_optim_wrapper}}   # merged into yours
#
# or write the optimizer settings in your file (one place to change ε):
#
#   optim_wrapper = dict(
#       constructor='EpsShiftedL2OptimWrapperConstructor',
#       paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
#
# The ε-shifted L2 regularizer (arXiv 1911.05920) replaces weight decay on
# the weights of weight-standardized convs: λ = the optimizer's
# weight_decay, ε = 1e-3 (the paper's value for WS-ResNet-50; 1e-6 for
# WS-ResNet-101).
custom_imports = dict(imports=['mmdet_eps_l2'], allow_failed_imports=False)
# mmengine's Runner plus this plugin's config and data checks, so mmdet's own
# tools/train.py and tools/test.py (and this package's) stop on a bad config
# or data set with a message that names the key or file
runner_type = 'CheckedRunner'

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
