# Copyright (c) OpenMMLab. All rights reserved.
"""mmengine's own constructor tests, run against the plugin.

Source: ``tests/test_optim/test_optimizer/test_optimizer.py`` of
github:open-mmlab/mmengine at tag v0.10.7 (commit 390ba2fb), Apache-2.0
(Copyright 2018-2023 OpenMMLab, as above).

Adapted only by substituting the constructor
(``DefaultOptimWrapperConstructor`` ->
``EpsShiftedL2OptimWrapperConstructor``, every ``paramwise_cfg`` gaining
``eps_l2=dict(eps=1e-3)``) and making the test models' non-depthwise convs
``WSConv2d``.  Every upstream assertion that the plugin's documented design
(the constructor's docstring) does not change is kept as written; where the
design changes one, the documented behaviour is asserted instead, marked
``# design:`` beside it.  Assertions are counted as upstream writes them
(one ``assert`` statement or one ``self.assert*`` call, helpers once).

Of the 79 upstream assertions in the tests kept here:

* 38 kept unchanged;
* 41 replaced by documented behaviour:

  - 39 because parameters sharing all hyper-parameters are merged into one
    group (upstream asserts one group per parameter, in order): 31 assert
    upstream's lr / weight_decay / momentum per parameter, read from the
    parameter's own group (``param_group_of``); 8 that counted groups or
    matched the i-th group to the i-th parameter assert instead that every
    (trainable) parameter is in exactly one group;
  - 2 because ``paramwise_cfg.eps_l2`` is required: upstream's check that
    "no or empty ``paramwise_cfg``" gives one group holding
    ``model.parameters()`` (the two group assertions of
    ``_check_default_optimizer``) becomes: the constructor refuses without
    ``eps_l2`` (KeyError naming it), and with it every parameter is in
    exactly one group, with the optimizer's defaults.

21 design assertions are added beside them: the ``eps_l2`` KeyError (4
places); a model with no trainable WS conv refused (ValueError), and with
``allow_no_ws_conv=True`` torch's own refusal of the empty parameter list,
after mmengine's ``requires_grad=False`` warnings (4); an optimizer of
unknown decay semantics needing ``eps_l2.mode`` and a λ (2); an optimizer
without ``weight_decay`` needing ``eps_l2.weight_decay``, which is then
exactly the shifted weights' ``weight_decay`` (2); groups are plain dicts,
each parameter in one group, no two groups with the same hyper-parameters
(3); each shifted WS weight's group carries ``eps_l2_eps`` /
``eps_l2_mode`` / ``eps_l2_fused`` (SGD: coupled, fused), every other group
none (6).

Dropped (7 tests, 14 assertions): ``test_torch_optimizers``,
``test_dadaptation_optimizers``, ``test_lion_optimizers``,
``test_bitsandbytes_optimizers``, ``test_transformers_optimizers`` (the
registration of optimizers in mmengine's ``OPTIMIZERS``, no constructor
involved), and ``TestZeroOptimizer`` (``test_zero_redundancy_optimizer``,
``..._with_paramwise_cfg``: ``ZeroRedundancyOptimizer`` in spawned
processes, outside this brief).  Upstream's ``sys.modules['mmcv.ops']``
MagicMock for a missing mmcv-full is dropped too (it would leak into the
rest of the suite; mmcv-full is a requirement of the plugin).  Blocks that
upstream runs only on CUDA (DataParallel, the DCN offsets' lr) stay as
upstream gates them.
"""
import unittest
from unittest import TestCase

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS,
                            OptimWrapper, build_optim_wrapper)
from mmengine.registry import DefaultScope, Registry, build_from_cfg
from mmengine.utils.dl_utils import mmcv_full_available

from mmdet_eps_l2.models import WSConv2d
from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor

MMCV_FULL_AVAILABLE = mmcv_full_available()

#: design: the plugin's required option, added to every paramwise_cfg
EPS_L2 = dict(eps=1e-3)
SHIFT_KEYS = ('eps_l2_eps', 'eps_l2_mode', 'eps_l2_fused')


class ExampleModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = WSConv2d(3, 4, kernel_size=1, bias=False)
        self.conv2 = WSConv2d(4, 2, kernel_size=1)
        self.bn = nn.BatchNorm2d(2)
        self.sub = SubModel()
        if MMCV_FULL_AVAILABLE:
            from mmcv.ops import DeformConv2dPack
            self.dcn = DeformConv2dPack(
                3, 4, kernel_size=3, deformable_groups=1)


class ExampleDuplicateModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = nn.Sequential(WSConv2d(3, 4, kernel_size=1, bias=False))
        self.conv2 = nn.Sequential(WSConv2d(4, 2, kernel_size=1))
        self.bn = nn.BatchNorm2d(2)
        self.sub = SubModel()
        self.conv3 = nn.Sequential(WSConv2d(3, 4, kernel_size=1, bias=False))
        self.conv3[0] = self.conv1[0]
        if MMCV_FULL_AVAILABLE:
            from mmcv.ops import DeformConv2dPack
            self.dcn = DeformConv2dPack(
                3, 4, kernel_size=3, deformable_groups=1)

    def forward(self, x):
        return x


class SubModel(nn.Module):

    def __init__(self):
        super().__init__()
        # depthwise (one input channel per filter): stays a plain conv, as
        # the brief says; a 1x1 depthwise WSConv2d has 1-element filters,
        # which WSConv2d refuses
        self.conv1 = nn.Conv2d(2, 2, kernel_size=1, groups=2)
        self.gn = nn.GroupNorm(2, 2)
        self.param1 = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x


class PseudoDataParallel(nn.Module):

    def __init__(self):
        super().__init__()
        self.module = ExampleModel()

    def forward(self, x):
        return x


def param_group_of(optimizer, params):
    """design: the group of each parameter of ``params`` (parameters sharing
    all hyper-parameters are merged into one group); also asserts that the
    groups are plain dicts, that each parameter is in exactly one group and
    that no two groups share all hyper-parameters."""
    group_of = {}
    settings = []
    for group in optimizer.param_groups:
        assert type(group) is dict  # design: plain dicts
        for param in group['params']:
            assert id(param) not in group_of  # design: exactly one group
            group_of[id(param)] = group
        hyper = sorted((k, repr(v)) for k, v in group.items() if k != 'params')
        assert hyper not in settings  # design: merged groups
        settings.append(hyper)
    return [group_of[id(param)] for param in params]


def assert_shift_keys(optimizer, model, eps=EPS_L2['eps'], mode='coupled'):
    """design: exactly the groups of trainable, non-depthwise WS weights
    carry the shift (ε, mode; fused: SGD's own weight_decay is coupled)."""
    shifted = {
        id(m.weight)
        for m in model.modules() if isinstance(m, WSConv2d)
        and m.weight.requires_grad and m.weight.shape[1] > 1
    }
    assert shifted
    for group in optimizer.param_groups:
        if any(id(p) in shifted for p in group['params']):
            assert all(id(p) in shifted for p in group['params'])
            assert group['eps_l2_eps'] == eps
            assert group['eps_l2_mode'] == mode
            assert group['eps_l2_fused'] is (mode == 'coupled')
        else:
            assert not any(key in group for key in SHIFT_KEYS)


class TestBuilder(TestCase):

    def setUp(self):
        self.model = ExampleModel()
        self.base_lr = 0.01
        self.momentum = 0.0001
        self.base_wd = 0.9

    def _check_default_optimizer(self, optimizer, model, prefix=''):
        assert isinstance(optimizer, torch.optim.SGD)
        assert optimizer.defaults['lr'] == self.base_lr
        assert optimizer.defaults['momentum'] == self.momentum
        assert optimizer.defaults['weight_decay'] == self.base_wd
        if MMCV_FULL_AVAILABLE:
            param_names = [
                'param1', 'conv1.weight', 'conv2.weight', 'conv2.bias',
                'bn.weight', 'bn.bias', 'sub.param1', 'sub.conv1.weight',
                'sub.conv1.bias', 'sub.gn.weight', 'sub.gn.bias', 'dcn.weight',
                'dcn.conv_offset.weight', 'dcn.conv_offset.bias'
            ]
        else:
            param_names = [
                'param1', 'conv1.weight', 'conv2.weight', 'conv2.bias',
                'bn.weight', 'bn.bias', 'sub.param1', 'sub.conv1.weight',
                'sub.conv1.bias', 'sub.gn.weight', 'sub.gn.bias'
            ]
        param_dict = dict(model.named_parameters())
        # design: eps_l2 is required, so there is no "one group holding
        # model.parameters()" path; the parameters are spread over merged
        # groups, each with the optimizer's defaults
        groups = param_group_of(
            optimizer, [param_dict[prefix + name] for name in param_names])
        assert sum(len(g['params']) for g in optimizer.param_groups) == len(
            param_names)  # design: every parameter in exactly one group
        for group in groups:  # design: the one group's settings, per param
            assert (group['lr'], group['momentum'], group['weight_decay']
                    ) == (self.base_lr, self.momentum, self.base_wd)
        assert_shift_keys(optimizer, model)

    def _check_sgd_optimizer(self,
                             optimizer,
                             model,
                             prefix='',
                             bias_lr_mult=1,
                             bias_decay_mult=1,
                             norm_decay_mult=1,
                             dwconv_decay_mult=1,
                             dcn_offset_lr_mult=1,
                             flat_decay_mult=1,
                             bypass_duplicate=False,
                             eps_l2=EPS_L2):
        assert isinstance(optimizer, torch.optim.SGD)
        assert optimizer.defaults['lr'] == self.base_lr
        assert optimizer.defaults['momentum'] == self.momentum
        assert optimizer.defaults['weight_decay'] == self.base_wd
        model_parameters = list(model.parameters())
        # design: merged groups; param_groups[i] is the group of the i-th
        # parameter (upstream: the i-th group)
        param_groups = param_group_of(optimizer, model_parameters)
        assert sum(len(g['params']) for g in optimizer.param_groups) == len(
            model_parameters)  # design: every parameter in exactly one group
        for i, param in enumerate(model_parameters):
            param_group = param_groups[i]
            assert any(p is param for p in param_group['params'])  # design
            assert param_group['momentum'] == self.momentum  # design: map
        assert_shift_keys(optimizer, model, eps=eps_l2['eps'])

        # design: every lr / weight_decay below is upstream's value, read
        # from the parameter's own group (param_groups above); the shifted
        # WS weights (conv1.weight, conv2.weight) keep the stock decay (λ)
        # param1
        param1 = param_groups[0]
        assert param1['lr'] == self.base_lr
        assert param1['weight_decay'] == self.base_wd * flat_decay_mult
        # conv1.weight
        conv1_weight = param_groups[1]
        assert conv1_weight['lr'] == self.base_lr
        assert conv1_weight['weight_decay'] == self.base_wd
        # conv2.weight
        conv2_weight = param_groups[2]
        assert conv2_weight['lr'] == self.base_lr
        assert conv2_weight['weight_decay'] == self.base_wd
        # conv2.bias
        conv2_bias = param_groups[3]
        assert conv2_bias['lr'] == self.base_lr * bias_lr_mult
        assert conv2_bias['weight_decay'] == self.base_wd * bias_decay_mult
        # bn.weight
        bn_weight = param_groups[4]
        assert bn_weight['lr'] == self.base_lr
        assert bn_weight['weight_decay'] == self.base_wd * norm_decay_mult
        # bn.bias
        bn_bias = param_groups[5]
        assert bn_bias['lr'] == self.base_lr
        assert bn_bias['weight_decay'] == self.base_wd * norm_decay_mult
        # sub.param1
        sub_param1 = param_groups[6]
        assert sub_param1['lr'] == self.base_lr
        assert sub_param1['weight_decay'] == self.base_wd * flat_decay_mult
        # sub.conv1.weight
        sub_conv1_weight = param_groups[7]
        assert sub_conv1_weight['lr'] == self.base_lr
        assert sub_conv1_weight[
            'weight_decay'] == self.base_wd * dwconv_decay_mult
        # sub.conv1.bias
        sub_conv1_bias = param_groups[8]
        assert sub_conv1_bias['lr'] == self.base_lr * bias_lr_mult
        assert sub_conv1_bias['weight_decay'] == self.base_wd * bias_decay_mult
        # sub.gn.weight
        sub_gn_weight = param_groups[9]
        assert sub_gn_weight['lr'] == self.base_lr
        assert sub_gn_weight['weight_decay'] == self.base_wd * norm_decay_mult
        # sub.gn.bias
        sub_gn_bias = param_groups[10]
        assert sub_gn_bias['lr'] == self.base_lr
        assert sub_gn_bias['weight_decay'] == self.base_wd * norm_decay_mult

        # test dcn which requires cuda is available and
        # mmcv-full has been installed
        if torch.cuda.is_available() and MMCV_FULL_AVAILABLE:
            dcn_conv_weight = param_groups[11]
            assert dcn_conv_weight['lr'] == self.base_lr
            assert dcn_conv_weight['weight_decay'] == self.base_wd

            dcn_offset_weight = param_groups[12]
            assert dcn_offset_weight['lr'] == self.base_lr * dcn_offset_lr_mult
            assert dcn_offset_weight['weight_decay'] == self.base_wd

            dcn_offset_bias = param_groups[13]
            assert dcn_offset_bias['lr'] == self.base_lr * dcn_offset_lr_mult
            assert dcn_offset_bias['weight_decay'] == self.base_wd

    def test_build_optimizer(self):
        # test build function without ``constructor`` and ``paramwise_cfg``
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            constructor='EpsShiftedL2OptimWrapperConstructor',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        # design: without paramwise_cfg.eps_l2 the constructor refuses
        with self.assertRaisesRegex(KeyError, 'paramwise_cfg.eps_l2'):
            build_optim_wrapper(self.model, optim_wrapper_cfg)
        optim_wrapper_cfg['paramwise_cfg'] = dict(eps_l2=EPS_L2)
        optim_wrapper = build_optim_wrapper(self.model, optim_wrapper_cfg)
        self._check_default_optimizer(optim_wrapper.optimizer, self.model)

        # test build optimizer without type in optim_wrapper_cfg
        optim_wrapper_cfg = dict(
            constructor='EpsShiftedL2OptimWrapperConstructor',
            paramwise_cfg=dict(eps_l2=EPS_L2),
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        optim_wrapper = build_optim_wrapper(self.model, optim_wrapper_cfg)
        self.assertIsInstance(optim_wrapper, OptimWrapper)
        self._check_default_optimizer(optim_wrapper.optimizer, self.model)

        # test build function with invalid ``constructor``
        with self.assertRaises(KeyError):
            optim_wrapper_cfg['constructor'] = 'INVALID_CONSTRUCTOR'
            build_optim_wrapper(self.model, optim_wrapper_cfg)

        # test build function with invalid ``paramwise_cfg``
        with self.assertRaises(KeyError):
            optim_wrapper_cfg['paramwise_cfg'] = dict(invalid_mult=1)
            build_optim_wrapper(self.model, optim_wrapper_cfg)

        optim_wrapper_cfg.pop('optimizer')
        # the plugin's constructor, not the default one, gets the bad cfg
        optim_wrapper_cfg['constructor'] = \
            'EpsShiftedL2OptimWrapperConstructor'
        optim_wrapper_cfg['paramwise_cfg'] = dict(eps_l2=EPS_L2)
        self.assertRaisesRegex(
            AssertionError, '`optim_wrapper_cfg` must contain',
            lambda: build_optim_wrapper(self.model, optim_wrapper_cfg))

    def test_build_default_optimizer_constructor(self):
        optim_wrapper = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = dict(
            bias_lr_mult=2,
            bias_decay_mult=0.5,
            norm_decay_mult=0,
            dwconv_decay_mult=0.1,
            dcn_offset_lr_mult=0.1,
            flat_decay_mult=0.3,
            eps_l2=EPS_L2)
        optim_constructor_cfg = dict(
            type='EpsShiftedL2OptimWrapperConstructor',
            optim_wrapper_cfg=optim_wrapper,
            paramwise_cfg=paramwise_cfg)
        optim_constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
            optim_constructor_cfg)
        optim_wrapper = optim_constructor(self.model)
        self._check_sgd_optimizer(optim_wrapper.optimizer, self.model,
                                  **paramwise_cfg)

    def test_build_custom_optimizer_constructor(self):
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))

        @OPTIM_WRAPPER_CONSTRUCTORS.register_module()
        class MyOptimizerConstructor(EpsShiftedL2OptimWrapperConstructor):

            def __call__(self, model):
                if hasattr(model, 'module'):
                    model = model.module

                conv1_lr_mult = self.paramwise_cfg.get('conv1_lr_mult', 1.)
                params = []

                for name, param in model.named_parameters():
                    param_group = {'params': [param]}
                    if name.startswith('conv1') and param.requires_grad:
                        param_group['lr'] = self.base_lr * conv1_lr_mult
                    params.append(param_group)
                self.optimizer_cfg['params'] = params

                return build_from_cfg(self.optimizer_cfg, OPTIMIZERS)

        paramwise_cfg = dict(conv1_lr_mult=5, eps_l2=EPS_L2)
        optim_constructor_cfg = dict(
            type='MyOptimizerConstructor',
            optim_wrapper_cfg=optim_wrapper_cfg,
            paramwise_cfg=paramwise_cfg)
        optim_constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
            optim_constructor_cfg)
        optimizer = optim_constructor(self.model)

        param_groups = optimizer.param_groups
        assert isinstance(optimizer, torch.optim.SGD)
        assert optimizer.defaults['lr'] == self.base_lr
        assert optimizer.defaults['momentum'] == self.momentum
        assert optimizer.defaults['weight_decay'] == self.base_wd
        for i, param in enumerate(self.model.parameters()):
            param_group = param_groups[i]
            assert torch.equal(param_group['params'][0], param)
            assert param_group['momentum'] == self.momentum
        # conv1.weight
        assert param_groups[1][
            'lr'] == self.base_lr * paramwise_cfg['conv1_lr_mult']
        assert param_groups[1]['weight_decay'] == self.base_wd

    def test_default_optimizer_constructor(self):
        with self.assertRaises(TypeError):
            # optimizer_cfg must be a dict
            optimizer_cfg = []
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optimizer_cfg)
            optim_constructor(self.model)

        with self.assertRaises(TypeError):
            # paramwise_cfg must be a dict or None
            optim_wrapper_cfg = dict(
                type='OptimWrapper',
                optimizer=dict(lr=0.0001, weight_decay=None))
            paramwise_cfg = ['error']
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optim_wrapper_cfg, paramwise_cfg)
            optim_constructor(self.model)

        with self.assertRaises(ValueError):
            # bias_decay_mult/norm_decay_mult is specified but weight_decay
            # is None
            optim_wrapper_cfg = dict(
                type='OptimWrapper',
                optimizer=dict(lr=0.0001, weight_decay=None))
            paramwise_cfg = dict(
                bias_decay_mult=1, norm_decay_mult=1, eps_l2=EPS_L2)
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optim_wrapper_cfg, paramwise_cfg)
            optim_constructor(self.model)

        # basic config with ExampleModel
        optimizer_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        # design: without paramwise_cfg.eps_l2 the constructor refuses
        with self.assertRaisesRegex(KeyError, 'paramwise_cfg.eps_l2'):
            EpsShiftedL2OptimWrapperConstructor(optimizer_cfg)
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optimizer_cfg, dict(eps_l2=EPS_L2))
        optim_wrapper = optim_constructor(self.model)
        self._check_default_optimizer(optim_wrapper.optimizer, self.model)

        # Support building custom optimizers
        CUSTOM_OPTIMIZERS = Registry(
            'custom optimizer', scope='custom optimizer', parent=OPTIMIZERS)

        class CustomOptimizer(torch.optim.SGD):

            def __init__(self, model_params, *args, **kwargs):
                super().__init__(params=model_params, *args, **kwargs)

        CUSTOM_OPTIMIZERS.register_module()(CustomOptimizer)
        optimizer_cfg = dict(optimizer=dict(type='CustomOptimizer', lr=0.1), )
        with DefaultScope.overwrite_default_scope('custom optimizer'):
            # design: an optimizer whose weight_decay semantics are not
            # known needs eps_l2.mode, and one without weight_decay needs
            # eps_l2.weight_decay (the λ of the shift)
            with self.assertRaisesRegex(ValueError, 'eps_l2.mode'):
                EpsShiftedL2OptimWrapperConstructor(
                    optimizer_cfg, dict(eps_l2=EPS_L2))
            with self.assertRaisesRegex(KeyError, 'eps_l2.weight_decay'):
                EpsShiftedL2OptimWrapperConstructor(
                    optimizer_cfg,
                    dict(eps_l2=dict(EPS_L2, mode='coupled')))(self.model)
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optimizer_cfg,
                dict(eps_l2=dict(EPS_L2, mode='coupled', weight_decay=1e-4)))
            optim_wrapper = optim_constructor(self.model)
        OPTIMIZERS.children.pop('custom optimizer')

    def test_default_optimizer_constructor_with_model_wrapper(self):
        # basic config with pseudo data parallel
        model = PseudoDataParallel()
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = None
        # design: without paramwise_cfg.eps_l2 the constructor refuses
        with self.assertRaisesRegex(KeyError, 'paramwise_cfg.eps_l2'):
            EpsShiftedL2OptimWrapperConstructor(optim_wrapper_cfg,
                                                paramwise_cfg)
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, dict(eps_l2=EPS_L2))
        optim_wrapper = optim_constructor(model)
        self._check_default_optimizer(
            optim_wrapper.optimizer, model, prefix='module.')

        # paramwise_cfg with pseudo data parallel
        model = PseudoDataParallel()
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = dict(
            bias_lr_mult=2,
            bias_decay_mult=0.5,
            norm_decay_mult=0,
            dwconv_decay_mult=0.1,
            dcn_offset_lr_mult=0.1,
            flat_decay_mult=0.3,
            eps_l2=EPS_L2)
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)
        optim_wrapper = optim_constructor(model)
        self._check_sgd_optimizer(
            optim_wrapper.optimizer, model, prefix='module.', **paramwise_cfg)

        # basic config with DataParallel
        if torch.cuda.is_available():
            model = torch.nn.DataParallel(ExampleModel())
            optim_wrapper_cfg = dict(
                type='OptimWrapper',
                optimizer=dict(
                    type='SGD',
                    lr=self.base_lr,
                    weight_decay=self.base_wd,
                    momentum=self.momentum))
            paramwise_cfg = dict(eps_l2=EPS_L2)
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optim_wrapper_cfg, paramwise_cfg)
            optim_wrapper = optim_constructor(model)
            self._check_default_optimizer(
                optim_wrapper.optimizer, model, prefix='module.')

        # paramwise_cfg with DataParallel
        if torch.cuda.is_available():
            model = torch.nn.DataParallel(self.model)
            optim_wrapper_cfg = dict(
                type='OptimWrapper',
                optimizer=dict(
                    type='SGD',
                    lr=self.base_lr,
                    weight_decay=self.base_wd,
                    momentum=self.momentum))
            paramwise_cfg = dict(
                bias_lr_mult=2,
                bias_decay_mult=0.5,
                norm_decay_mult=0,
                dwconv_decay_mult=0.1,
                dcn_offset_lr_mult=0.1,
                flat_decay_mult=0.3,
                eps_l2=EPS_L2)
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optim_wrapper_cfg, paramwise_cfg)
            optim_wrapper = optim_constructor(model)
            self._check_sgd_optimizer(
                optim_wrapper.optimizer,
                model,
                prefix='module.',
                **paramwise_cfg)

    def test_default_optimizer_constructor_with_empty_paramwise_cfg(self):
        # Empty paramwise_cfg with ExampleModel
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = dict()
        # design: an empty paramwise_cfg lacks the required eps_l2
        with self.assertRaisesRegex(KeyError, 'paramwise_cfg.eps_l2'):
            EpsShiftedL2OptimWrapperConstructor(optim_wrapper_cfg,
                                                paramwise_cfg)
        paramwise_cfg = dict(eps_l2=EPS_L2)
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)
        optim_wrapper = optim_constructor(self.model)
        self._check_default_optimizer(optim_wrapper.optimizer, self.model)

        # Empty paramwise_cfg with ExampleModel and no grad
        model = ExampleModel()
        for param in model.parameters():
            param.requires_grad = False
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = dict(eps_l2=EPS_L2)
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)
        # design: no trainable WS conv: refused
        with self.assertRaisesRegex(
                ValueError, 'no trainable weight-standardized conv'):
            optim_constructor(model)
        # design: allowed, the frozen parameters are skipped with mmengine's
        # warnings (paramwise_cfg is not empty) and torch refuses the empty
        # list, as for the stock constructor with this paramwise_cfg
        paramwise_cfg = dict(eps_l2=dict(EPS_L2, allow_no_ws_conv=True))
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)
        with self.assertLogs(MMLogger.get_current_instance(),
                             level='WARNING') as logs:
            with self.assertRaisesRegex(ValueError,
                                        'optimizer got an empty parameter'):
                optim_constructor(model)
        assert any('conv1.weight is skipped since its requires_grad=False' in
                   line for line in logs.output)  # design: mmengine's words

    def test_default_optimizer_constructor_with_paramwise_cfg(self):
        # paramwise_cfg with ExampleModel
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = dict(
            bias_lr_mult=2,
            bias_decay_mult=0.5,
            norm_decay_mult=0,
            dwconv_decay_mult=0.1,
            dcn_offset_lr_mult=0.1,
            flat_decay_mult=0.3,
            eps_l2=EPS_L2)
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)
        optim_wrapper = optim_constructor(self.model)
        self._check_sgd_optimizer(optim_wrapper.optimizer, self.model,
                                  **paramwise_cfg)

    def test_default_optimizer_constructor_no_grad(self):
        # paramwise_cfg with ExampleModel and no grad
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = dict(
            bias_lr_mult=2,
            bias_decay_mult=0.5,
            norm_decay_mult=0,
            dwconv_decay_mult=0.1,
            dcn_offset_lr_mult=0.1,
            eps_l2=EPS_L2)

        self.model.conv1.requires_grad_(False)
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)
        optim_wrapper = optim_constructor(self.model)

        all_params = []
        for pg in optim_wrapper.param_groups:
            all_params.extend(map(id, pg['params']))
        self.assertNotIn(id(self.model.conv1.weight), all_params)
        self.assertIn(id(self.model.conv2.weight), all_params)

    def test_default_optimizer_constructor_bypass_duplicate(self):
        # paramwise_cfg with bypass_duplicate option
        model = ExampleDuplicateModel()
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = dict(
            bias_lr_mult=2,
            bias_decay_mult=0.5,
            norm_decay_mult=0,
            dwconv_decay_mult=0.1,
            eps_l2=EPS_L2)

        with self.assertRaisesRegex(
                ValueError,
                'some parameters appear in more than one parameter group'):
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optim_wrapper_cfg, paramwise_cfg)
            optim_constructor(model)

        paramwise_cfg = dict(
            bias_lr_mult=2,
            bias_decay_mult=0.5,
            norm_decay_mult=0,
            dwconv_decay_mult=0.1,
            dcn_offset_lr_mult=0.1,
            flat_decay_mult=0.3,
            bypass_duplicate=True,
            eps_l2=EPS_L2)
        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)

        with self.assertLogs(MMLogger.get_current_instance(), level='WARNING'):
            # Warning should be raised since conv3.0 is a duplicate param.
            optim_constructor(model)
        optim_wrapper = optim_constructor(model)
        model_parameters = list(model.parameters())
        num_params = 14 if MMCV_FULL_AVAILABLE else 11
        # design: merged groups; each of the num_params parameters (the
        # shared conv3.0 counted once) is in exactly one group
        param_group_of(optim_wrapper.optimizer, model_parameters)
        assert sum(
            len(g['params']) for g in optim_wrapper.optimizer.param_groups
        ) == len(model_parameters) == num_params
        self._check_sgd_optimizer(optim_wrapper.optimizer, model,
                                  **paramwise_cfg)

        # test DefaultOptimWrapperConstructor when the params in shared
        # modules do not require grad
        model.conv1[0].requires_grad_(False)
        with self.assertLogs(MMLogger.get_current_instance(), level='WARNING'):
            # Warning should be raised since conv3.0 is a duplicate param.
            optim_constructor(model)
        optim_wrapper = optim_constructor(model)
        model_parameters = list(model.parameters())
        num_params = 14 if MMCV_FULL_AVAILABLE else 11
        # design: merged groups; every parameter but the frozen one in
        # exactly one group
        trainable = [p for p in model_parameters if p.requires_grad]
        param_group_of(optim_wrapper.optimizer, trainable)
        assert sum(
            len(g['params']) for g in optim_wrapper.optimizer.param_groups
        ) == len(trainable) == len(model_parameters) - 1 == num_params - 1

    def test_default_optimizer_constructor_custom_key(self):
        # test DefaultOptimWrapperConstructor with custom_keys and
        # ExampleModel
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD',
                lr=self.base_lr,
                weight_decay=self.base_wd,
                momentum=self.momentum))
        paramwise_cfg = dict(
            custom_keys={
                'param1': dict(lr_mult=10),
                'sub': dict(lr_mult=0.1, decay_mult=0),
                'sub.gn': dict(lr_mult=0.01),
                'non_exist_key': dict(lr_mult=0.0)
            },
            norm_decay_mult=0.5,
            eps_l2=EPS_L2)

        with self.assertRaises(TypeError):
            # custom_keys should be a dict
            paramwise_cfg_ = dict(custom_keys=[0.1, 0.0001], eps_l2=EPS_L2)
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optim_wrapper_cfg, paramwise_cfg_)
            optimizer = optim_constructor(self.model)

        with self.assertRaises(ValueError):
            # if 'decay_mult' is specified in custom_keys, weight_decay
            # should be specified
            optim_wrapper_cfg_ = dict(
                type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))
            paramwise_cfg_ = dict(
                custom_keys={'.backbone': dict(decay_mult=0.5)},
                eps_l2=EPS_L2)
            optim_constructor = EpsShiftedL2OptimWrapperConstructor(
                optim_wrapper_cfg_, paramwise_cfg_)
            optim_constructor(self.model)

        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)
        optimizer = optim_constructor(self.model).optimizer
        # check optimizer type and default config
        assert isinstance(optimizer, torch.optim.SGD)
        assert optimizer.defaults['lr'] == self.base_lr
        assert optimizer.defaults['momentum'] == self.momentum
        assert optimizer.defaults['weight_decay'] == self.base_wd

        # check params groups
        # design: merged groups; param_groups[i] is the group of the i-th
        # parameter (upstream: the i-th group)
        param_groups = param_group_of(optimizer, self.model.parameters())
        assert_shift_keys(optimizer, self.model)

        groups = []
        group_settings = []
        # group 1, matches of 'param1'
        # 'param1' is the longest match for 'sub.param1'
        groups.append(['param1', 'sub.param1'])
        group_settings.append({
            'lr': self.base_lr * 10,
            'momentum': self.momentum,
            'weight_decay': self.base_wd,
        })
        # group 2, matches of 'sub.gn'
        groups.append(['sub.gn.weight', 'sub.gn.bias'])
        group_settings.append({
            'lr': self.base_lr * 0.01,
            'momentum': self.momentum,
            'weight_decay': self.base_wd,
        })
        # group 3, matches of 'sub'
        groups.append(['sub.conv1.weight', 'sub.conv1.bias'])
        group_settings.append({
            'lr': self.base_lr * 0.1,
            'momentum': self.momentum,
            'weight_decay': 0,
        })
        # group 4, bn is configured by 'norm_decay_mult'
        groups.append(['bn.weight', 'bn.bias'])
        group_settings.append({
            'lr': self.base_lr,
            'momentum': self.momentum,
            'weight_decay': self.base_wd * 0.5,
        })
        # group 5, default group
        groups.append(['conv1.weight', 'conv2.weight', 'conv2.bias'])
        group_settings.append({
            'lr': self.base_lr,
            'momentum': self.momentum,
            'weight_decay': self.base_wd
        })

        num_params = 14 if MMCV_FULL_AVAILABLE else 11
        # design: every parameter in exactly one (merged) group
        assert sum(len(g['params'])
                   for g in optimizer.param_groups) == num_params
        for i, (name, param) in enumerate(self.model.named_parameters()):
            # design: the parameter is in its own group (merged groups)
            assert any(p is param for p in param_groups[i]['params'])
            for group, settings in zip(groups, group_settings):
                if name in group:
                    for setting in settings:
                        # design: read from the parameter's group
                        assert param_groups[i][setting] == settings[
                            setting], f'{name} {setting}'

        # test DefaultOptimWrapperConstructor with custom_keys and
        # ExampleModel 2
        optim_wrapper_cfg = dict(
            type='OptimWrapper',
            optimizer=dict(
                type='SGD', lr=self.base_lr, momentum=self.momentum))
        paramwise_cfg = dict(
            custom_keys={'param1': dict(lr_mult=10)}, eps_l2=EPS_L2)

        # design: the optimizer has no weight_decay, so the λ of the shift
        # must be given as eps_l2.weight_decay
        with self.assertRaisesRegex(KeyError, 'eps_l2.weight_decay'):
            EpsShiftedL2OptimWrapperConstructor(optim_wrapper_cfg,
                                                paramwise_cfg)(self.model)
        # design: ... and is then exactly the shifted weights' weight_decay
        paramwise_cfg['eps_l2'] = dict(EPS_L2, weight_decay=1e-4)
        optimizer = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)(self.model).optimizer
        assert [g['weight_decay'] for g in param_group_of(
            optimizer, [self.model.conv1.weight, self.model.conv2.weight])
                ] == [1e-4, 1e-4]  # design
        # λ = 0 (the optimizer's own default) gives upstream's groups
        paramwise_cfg['eps_l2'] = dict(EPS_L2, weight_decay=0.)

        optim_constructor = EpsShiftedL2OptimWrapperConstructor(
            optim_wrapper_cfg, paramwise_cfg)
        optimizer = optim_constructor(self.model).optimizer
        # check optimizer type and default config
        assert isinstance(optimizer, torch.optim.SGD)
        assert optimizer.defaults['lr'] == self.base_lr
        assert optimizer.defaults['momentum'] == self.momentum
        assert optimizer.defaults['weight_decay'] == 0

        # check params groups
        # design: merged groups; param_groups[i] is the group of the i-th
        # parameter (upstream: the i-th group)
        param_groups = param_group_of(optimizer, self.model.parameters())
        assert_shift_keys(optimizer, self.model)

        groups = []
        group_settings = []
        # group 1, matches of 'param1'
        groups.append(['param1', 'sub.param1'])
        group_settings.append({
            'lr': self.base_lr * 10,
            'momentum': self.momentum,
            'weight_decay': 0,
        })
        # group 2, default group
        groups.append([
            'sub.conv1.weight', 'sub.conv1.bias', 'sub.gn.weight',
            'sub.gn.bias', 'conv1.weight', 'conv2.weight', 'conv2.bias',
            'bn.weight', 'bn.bias'
        ])
        group_settings.append({
            'lr': self.base_lr,
            'momentum': self.momentum,
            'weight_decay': 0
        })

        num_params = 14 if MMCV_FULL_AVAILABLE else 11
        # design: every parameter in exactly one (merged) group
        assert sum(len(g['params'])
                   for g in optimizer.param_groups) == num_params
        for i, (name, param) in enumerate(self.model.named_parameters()):
            # design: the parameter is in its own group (merged groups)
            assert any(p is param for p in param_groups[i]['params'])
            for group, settings in zip(groups, group_settings):
                if name in group:
                    for setting in settings:
                        # design: read from the parameter's group
                        assert param_groups[i][setting] == settings[
                            setting], f'{name} {setting}'


if __name__ == '__main__':
    unittest.main()
