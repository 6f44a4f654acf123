# The mmdet-eps-l2 plugin for any mmdet detector config.  It defines no key
# that an mmdet config defines (custom_imports aside, below), so mmengine
# can merge it beside any of them.  Inherit it by path (mmengine resolves
# the `pkg::` prefix only for OpenMMLab's own packages) and add the hooks
# and the optimizer lines in your own file:
#
#   _base_ = ['mmdet::...your detector...',
#             'path/to/mmdet-eps-l2/configs/_base_/eps-l2_plugin.py']
#   custom_hooks = [*_base_.get('custom_hooks', []), *_base_.eps_l2_hooks]
#   optim_wrapper = dict(
#       constructor='EpsShiftedL2OptimWrapperConstructor',
#       paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
#
# The first line keeps the detector's own hooks (EMA, pipeline switches,
# ...) and adds the plugin's.  The ε-shifted L2 regularizer (arXiv
# 1911.05920) replaces weight decay on the weights of weight-standardized
# convs: λ = the optimizer's weight_decay, with the optimizer's own
# semantics (coupled for SGD, decoupled for AdamW); ε = 1e-3 is the paper's
# value for WS-ResNet-50 (1e-6 for WS-ResNet-101).
#
# A detector whose config already sets custom_imports (ConvNeXt, timm
# backbones) cannot inherit this file beside it; write instead, in your file:
#   custom_imports = dict(
#       imports=[*_base_.custom_imports.imports, 'mmdet_eps_l2'],
#       allow_failed_imports=False)
custom_imports = dict(imports=['mmdet_eps_l2'], allow_failed_imports=False)

# filter std σ, fraction near ε, effective lr and gradient norms per layer
# group every 50 iterations (one text line, all values in the visualizer);
# torch's RNG state kept in checkpoints so a resumed run continues exactly
eps_l2_hooks = [
    dict(type='WeightStatsHook', interval=50),
    dict(type='RNGStateHook'),
]
eps_l2_optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    paramwise_cfg=dict(eps_l2=dict(eps=1e-3)))
