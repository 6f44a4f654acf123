"""Group layout of EpsShiftedL2OptimWrapperConstructor vs the stock one,
and every bad input."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn.bricks.conv_ws import ConvWS2d
from mmengine.optim import DefaultOptimWrapperConstructor

from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor
from mmdet_eps_l2.models import WSConv2d

BASE_LR, BASE_WD = 0.01, 1e-4


class SubModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, kernel_size=1, groups=2)
        self.gn = nn.GroupNorm(2, 4)
        self.param1 = nn.Parameter(torch.ones(1))


class ExampleModel(nn.Module):
    """conv, WS convs (ours and mmcv's), GN, BN, depthwise (plain and WS),
    a shared submodule and a loose parameter."""

    def __init__(self):
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = nn.Conv2d(3, 4, kernel_size=1, bias=False)
        self.ws1 = WSConv2d(4, 4, kernel_size=3, padding=1)
        self.ws2 = ConvWS2d(4, 4, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.gn = nn.GroupNorm(2, 4)
        self.dw = nn.Conv2d(4, 4, kernel_size=3, groups=4)
        self.ws_dw = WSConv2d(4, 4, kernel_size=3, groups=4)
        self.sub = SubModel()
        self.shared = self.sub  # the same submodule reached twice
        self.fc = nn.Linear(4, 2)


PARAMWISE = dict(
    bias_lr_mult=2.,
    bias_decay_mult=0.5,
    norm_decay_mult=0.,
    dwconv_decay_mult=0.1,
    flat_decay_mult=0.3,
    bypass_duplicate=True,
    custom_keys={'sub.gn': dict(lr_mult=0.1), 'ws2': dict(decay_mult=3.)})


def wrapper_cfg(**optimizer):
    return dict(type='OptimWrapper', optimizer=dict(
        type='SGD', lr=BASE_LR, momentum=0.9, weight_decay=BASE_WD,
        **optimizer))


def settings(optimizer, model):
    """name -> (lr, weight decay, ε or None)."""
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for g in optimizer.param_groups:
        for p in g['params']:
            entry = (g['lr'], g.get('weight_decay', BASE_WD),
                     g.get('eps_l2_eps'))
            assert names[id(p)] not in out
            out[names[id(p)]] = entry
    return out


def test_group_table_matches_stock_for_non_ws_parameters():
    model = ExampleModel()
    ours = EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg(), dict(PARAMWISE, eps_l2=dict(eps=1e-3)))(model)
    stock = DefaultOptimWrapperConstructor(wrapper_cfg(), PARAMWISE)(model)
    got, ref = settings(ours.optimizer, model), settings(stock.optimizer,
                                                         model)
    assert set(got) == set(ref)
    # the shifted weights: the stock lr and weight decay (λ), plus ε
    shifted = {'ws1.weight': (BASE_LR, BASE_WD, 1e-3),
               'ws2.weight': (BASE_LR, 3 * BASE_WD, 1e-3)}
    for name in ref:
        if name in shifted:
            assert got[name] == shifted[name], name
            assert got[name][:2] == ref[name][:2], name
        else:
            assert got[name] == ref[name], name
    # exact values of the stock rules, for the record
    assert got['param1'] == (BASE_LR, BASE_WD * 0.3, None)
    assert got['conv1.weight'] == (BASE_LR, BASE_WD, None)
    assert got['ws1.bias'] == (BASE_LR * 2, BASE_WD * 0.5, None)
    assert got['bn.weight'] == (BASE_LR, 0., None)
    assert got['gn.bias'] == (BASE_LR, 0., None)
    assert got['dw.weight'] == (BASE_LR, BASE_WD * 0.1, None)
    # depthwise WS conv: not shifted, stock dwconv rule
    assert got['ws_dw.weight'] == (BASE_LR, BASE_WD * 0.1, None)
    assert got['sub.gn.weight'] == (BASE_LR * 0.1, BASE_WD, None)
    assert got['sub.conv1.weight'] == (BASE_LR, BASE_WD, None)
    assert got['fc.weight'] == (BASE_LR, BASE_WD, None)


def test_parameters_sharing_settings_share_a_group():
    model = ExampleModel()
    ours = EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg(), dict(PARAMWISE, eps_l2=dict(eps=1e-3)))(model)
    stock = DefaultOptimWrapperConstructor(wrapper_cfg(), PARAMWISE)(model)
    n_params = len(list(model.parameters()))
    assert len(stock.optimizer.param_groups) == n_params  # one per param
    keys = {tuple(sorted((k, repr(v)) for k, v in g.items() if k != 'params'))
            for g in ours.optimizer.param_groups}
    assert len(keys) == len(ours.optimizer.param_groups) == 8
    assert sum(len(g['params'])
               for g in ours.optimizer.param_groups) == n_params


def test_group_layout_is_independent_of_build_repetition():
    a = EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg(), dict(PARAMWISE, eps_l2=dict(eps=1e-3)))
    m1, m2 = ExampleModel(), ExampleModel()
    g1 = a(m1).optimizer.state_dict()['param_groups']
    g2 = a(m2).optimizer.state_dict()['param_groups']
    assert g1 == g2


@pytest.mark.parametrize('custom,lam', [
    (dict(decay_mult=0.), 0.),
    (dict(weight_decay=0.), 0.),
    (dict(decay_mult=3.), 3 * BASE_WD),
    (dict(weight_decay=7e-4), 7e-4),
])
def test_the_shifts_lambda_is_the_weights_own_decay(custom, lam):
    """custom_keys on one WS weight: λ is the stock weight decay of it."""
    model = ExampleModel()
    paramwise = dict(bypass_duplicate=True, custom_keys={'ws1': custom})
    ours = EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg(), dict(paramwise, eps_l2=dict(eps=1e-3)))(model)
    stock = DefaultOptimWrapperConstructor(wrapper_cfg(), paramwise)(model)
    got, ref = settings(ours.optimizer, model), settings(stock.optimizer,
                                                         model)
    assert got['ws1.weight'] == (BASE_LR, lam, 1e-3)
    assert ref['ws1.weight'][1] == lam
    assert got['ws2.weight'] == (BASE_LR, BASE_WD, 1e-3)
    assert got['ws1.bias'] == ref['ws1.bias']


def test_eps_l2_weight_decay_gives_lambda_only_without_optimizer_decay():
    cfg = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=BASE_LR))
    model = ExampleModel()
    wrapper = EpsShiftedL2OptimWrapperConstructor(
        cfg, dict(bypass_duplicate=True,
                  eps_l2=dict(eps=1e-3, weight_decay=5e-4)))(model)
    got = settings(wrapper.optimizer, model)
    assert got['ws1.weight'] == (BASE_LR, 5e-4, 1e-3)
    assert got['ws2.weight'] == (BASE_LR, 5e-4, 1e-3)
    assert wrapper.optimizer.param_groups[0]['weight_decay'] == 0.  # SGD's
    with pytest.raises(ValueError, match=r'eps_l2.weight_decay=0.0005 and '
                       r"optimizer.weight_decay=0.0001: .*custom_keys"):
        EpsShiftedL2OptimWrapperConstructor(
            wrapper_cfg(), dict(eps_l2=dict(eps=1e-3, weight_decay=5e-4)))


def test_mmengines_messages_reach_the_log(tmp_path):
    """mmengine's duplicate warning, as the stock constructor prints it."""
    from mmengine.logging import MMLogger
    log_file = tmp_path / 'build.log'
    MMLogger.get_instance('test_messages', log_level='INFO',
                          log_file=str(log_file))
    model = ExampleModel()
    model.tied = nn.Linear(4, 2)
    model.tied.weight = model.fc.weight  # one tensor in two modules
    EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg(), dict(bypass_duplicate=True,
                            eps_l2=dict(eps=1e-3)))(model)
    text = log_file.read_text()
    assert text.count('WARNING - tied is duplicate. It is skipped since '
                      'bypass_duplicate=True') == 1


@pytest.mark.parametrize('eps_l2,error,match', [
    (dict(eps=-1e-3), ValueError, 'eps_l2.eps'),
    (dict(eps='1e-3'), TypeError, 'eps_l2.eps'),
    (dict(eps=float('nan')), ValueError, 'eps_l2.eps'),
    (dict(eps=1e-3, weight_decay=-1.), ValueError, 'eps_l2.weight_decay'),
    (dict(eps=1e-3, weight_decay='big'), TypeError, 'eps_l2.weight_decay'),
    (dict(eps=1e-3, epsilon=2), KeyError, 'epsilon'),
    (dict(weight_decay=1e-4), KeyError, 'eps_l2.eps'),
    (dict(eps=1e-3, mode='adamw'), ValueError, 'eps_l2.mode'),
    (dict(eps=1e-3, allow_no_ws_conv='yes'), TypeError, 'allow_no_ws_conv'),
])
def test_bad_eps_l2_config_is_refused(eps_l2, error, match):
    with pytest.raises(error, match=match):
        EpsShiftedL2OptimWrapperConstructor(wrapper_cfg(),
                                            dict(eps_l2=eps_l2))


def test_missing_eps_l2_is_refused():
    with pytest.raises(KeyError, match='eps_l2 is missing'):
        EpsShiftedL2OptimWrapperConstructor(wrapper_cfg(), dict())


def test_missing_lambda_is_refused_when_there_is_a_weight_to_shift():
    cfg = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
    constructor = EpsShiftedL2OptimWrapperConstructor(
        cfg, dict(eps_l2=dict(eps=1e-3, allow_no_ws_conv=True)))
    with pytest.raises(KeyError, match='eps_l2.weight_decay is not set and '
                       'the optimizer config gives no weight_decay'):
        constructor(ExampleModel())
    # nothing to shift, nothing to refuse: the stock groups
    constructor(nn.Sequential(nn.Conv2d(3, 4, 3)))


def test_model_without_ws_conv_is_refused_unless_opted_out():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.GroupNorm(2, 4))
    constructor = EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg(), dict(eps_l2=dict(eps=1e-3)))
    with pytest.raises(ValueError, match='no trainable weight-standardized conv'):
        constructor(model)
    wrapper = EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg(), dict(eps_l2=dict(eps=1e-3,
                                        allow_no_ws_conv=True)))(model)
    assert all('eps_l2_eps' not in g for g in wrapper.optimizer.param_groups)


def test_tied_parameter_without_bypass_is_refused():
    model = ExampleModel()
    model.tied = nn.Linear(4, 2)
    model.tied.weight = model.fc.weight  # one tensor in two modules
    # torch's own refusal, as with the stock constructor
    with pytest.raises(ValueError, match='some parameters appear in more '
                       'than one parameter group'):
        DefaultOptimWrapperConstructor(wrapper_cfg(), dict(
            norm_decay_mult=0.))(model)
    with pytest.raises(ValueError, match='some parameters appear in more '
                       'than one parameter group'):
        EpsShiftedL2OptimWrapperConstructor(
            wrapper_cfg(), dict(eps_l2=dict(eps=1e-3)))(model)
    wrapper = EpsShiftedL2OptimWrapperConstructor(
        wrapper_cfg(), dict(eps_l2=dict(eps=1e-3),
                            bypass_duplicate=True))(model)
    n = sum(len(g['params']) for g in wrapper.optimizer.param_groups)
    assert n == len(list(model.parameters()))


def test_maximize_is_refused():
    with pytest.raises(ValueError, match='maximize'):
        EpsShiftedL2OptimWrapperConstructor(
            wrapper_cfg(maximize=True), dict(eps_l2=dict(eps=1e-3)))
