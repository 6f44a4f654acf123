"""WSConv2d: exact vs mmcv ConvWS2d, any layout, autocast, mmdet modules."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmcv.cnn.bricks.conv_ws import ConvWS2d

from mmdet_eps_l2.models import WSConv2d
from mmdet_eps_l2.ops import standardize_weight

CASES = [
    # in, out, kernel, kwargs
    (6, 5, 1, dict()),
    (6, 5, 3, dict(padding=1)),
    (6, 4, 7, dict(stride=2, padding=3)),
    (6, 4, 3, dict(dilation=2, padding=2)),
    (8, 6, 3, dict(groups=2, padding=1)),
]


def _pair(in_c, out_c, k, kwargs, bias, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    ours = WSConv2d(in_c, out_c, k, bias=bias, **kwargs).to(dtype)
    ref = ConvWS2d(in_c, out_c, k, bias=bias, **kwargs).to(dtype)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _fwd_bwd(conv, x):
    x = x.clone().requires_grad_(True)
    out = conv(x)
    torch.manual_seed(1)
    g = torch.randn(out.shape, dtype=out.dtype)
    out.backward(g)
    return out.detach(), x.grad, conv.weight.grad


def _rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('in_c,out_c,k,kwargs', CASES)
def test_matches_mmcv_convws_float64(in_c, out_c, k, kwargs, bias):
    ours, ref = _pair(in_c, out_c, k, kwargs, bias)
    x = torch.randn(2, in_c, 11, 11, dtype=torch.float64)
    o1, gx1, gw1 = _fwd_bwd(ours, x)
    o2, gx2, gw2 = _fwd_bwd(ref, x)
    assert _rel(o1, o2) <= 1e-10
    assert _rel(gx1, gx2) <= 1e-10
    assert _rel(gw1, gw2) <= 1e-10
    if bias:
        assert _rel(ours.bias.grad, ref.bias.grad) <= 1e-10


@pytest.mark.parametrize('in_c,out_c,k,kwargs', CASES)
def test_matches_mmcv_convws_float32(in_c, out_c, k, kwargs):
    ours, ref = _pair(in_c, out_c, k, kwargs, True, dtype=torch.float32)
    x = torch.randn(2, in_c, 11, 11)
    for a, b in zip(_fwd_bwd(ours, x), _fwd_bwd(ref, x)):
        assert _rel(a, b) <= 1e-5


def test_channels_last_weight_and_input():
    ours, ref = _pair(6, 5, 3, dict(padding=1), True)
    x = torch.randn(2, 6, 9, 9, dtype=torch.float64)
    expected = _fwd_bwd(ref, x)
    ours = ours.to(memory_format=torch.channels_last)
    assert not ours.weight.is_contiguous()
    got = _fwd_bwd(ours, x.to(memory_format=torch.channels_last))
    for a, b in zip(got, expected):
        assert _rel(a, b) <= 1e-12
    # mmcv's formula cannot even run on a channels_last weight
    ref = ref.to(memory_format=torch.channels_last)
    with pytest.raises(RuntimeError):
        ref(x)


def test_gradcheck():
    torch.manual_seed(0)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: standardize_weight(t, 1e-5), (w, ))
    conv = WSConv2d(2, 3, 3, padding=1).double()
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x, ))


def test_constant_filter_is_zero_with_finite_gradient():
    w = torch.ones(2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    out = standardize_weight(w, 1e-5)
    assert torch.equal(out, torch.zeros_like(out))
    out.sum().backward()
    assert torch.isfinite(w.grad).all()


def test_state_dict_interchange_with_convws():
    torch.manual_seed(0)
    ref = ConvWS2d(4, 6, 3, padding=1)
    ours = WSConv2d(4, 6, 3, padding=1)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(1, 4, 8, 8)
    assert torch.allclose(ours(x), ref(x), rtol=0, atol=1e-5)
    back = ConvWS2d(4, 6, 3, padding=1)
    back.load_state_dict(ours.state_dict())
    assert torch.equal(back.weight, ref.weight)


def test_timm_convention_is_explicit():
    torch.manual_seed(0)
    conv = WSConv2d(4, 3, 3, eps=1e-6, convention='timm').double()
    w = conv.weight
    n = w[0].numel()
    mean = w.mean((1, 2, 3), keepdim=True)
    var = w.var((1, 2, 3), unbiased=False, keepdim=True)
    expected = (w - mean) / torch.sqrt(var + 1e-6)
    assert _rel(conv.standardized_weight(), expected) <= 1e-12
    assert n == 36
    assert WSConv2d(4, 3, 3).convention == 'mmcv'


def test_bf16_autocast_tiny_weights_stay_finite():
    torch.manual_seed(0)
    conv = WSConv2d(8, 8, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(1e-4)
    x = torch.randn(2, 8, 8, 8)
    ref = ConvWS2d(8, 8, 3, padding=1)
    ref.load_state_dict(conv.state_dict())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = conv(x)
        assert out.dtype == torch.bfloat16
        out.float().sum().backward()
    assert torch.isfinite(out).all()
    assert torch.isfinite(conv.weight.grad).all()
    expected = ref(x)
    # bf16 conv: relative error of a few bf16 ulps
    assert float((out.float() - expected).abs().max() /
                 expected.abs().max()) < 2e-2
    # the standardized weight itself is computed in float32
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert conv.standardized_weight().dtype == torch.float32


def test_half_weight_statistics_in_float32():
    w = (torch.randn(4, 3, 3, 3) * 1e-4).half()
    out = standardize_weight(w, 1e-5)
    assert out.dtype == torch.float16
    expected = standardize_weight(w.float(), 1e-5)
    assert torch.allclose(out.float(), expected, atol=2e-3, rtol=0)


@pytest.mark.parametrize('eps', [-1e-5, float('nan'), 'x'])
def test_bad_eps_is_refused(eps):
    with pytest.raises((ValueError, TypeError), match='eps'):
        WSConv2d(4, 4, 3, eps=eps)


def test_single_element_filter_is_refused():
    with pytest.raises(ValueError, match='single-element filter'):
        WSConv2d(4, 4, 1, groups=4)


def test_unknown_convention_is_refused():
    with pytest.raises(ValueError, match='convention'):
        WSConv2d(4, 4, 3, convention='biased')


def test_build_conv_layer_in_mmdet_scope():
    conv = build_conv_layer(dict(type='WSConv2d', eps=1e-4), 3, 8, 3)
    assert type(conv) is WSConv2d and conv.eps == 1e-4


def _ws_convs(module):
    return [m for m in module.modules() if isinstance(m, (WSConv2d,
                                                          ConvWS2d))]


def _all_convs(module):
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


GN = dict(type='GN', num_groups=4, requires_grad=True)
MODULE_CFGS = {
    'resnet': dict(type='ResNet', depth=18, base_channels=8,
                   norm_cfg=GN, init_cfg=None),
    'resnext': dict(type='ResNeXt', depth=50, groups=4, base_width=4,
                    base_channels=8, norm_cfg=GN, init_cfg=None),
    'fpn': dict(type='FPN', in_channels=[8, 16], out_channels=8,
                num_outs=2, norm_cfg=GN),
    'bbox_head': dict(type='Shared4Conv1FCBBoxHead', in_channels=8,
                      conv_out_channels=8, fc_out_channels=16,
                      roi_feat_size=7, num_classes=3, norm_cfg=GN),
    'mask_head': dict(type='FCNMaskHead', num_convs=2, in_channels=8,
                      conv_out_channels=8, num_classes=3, norm_cfg=GN),
    'retina_head': dict(
        type='RetinaHead', num_classes=3, in_channels=8, feat_channels=8,
        stacked_convs=2, norm_cfg=GN,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                              strides=[8, 16])),
}


@pytest.mark.parametrize('name', sorted(MODULE_CFGS))
def test_mmdet_modules_take_wsconv2d_where_mmcv_puts_convws(name):
    from mmdet.registry import MODELS
    cfg = MODULE_CFGS[name]
    with_mmcv = MODELS.build(dict(cfg, conv_cfg=dict(type='ConvWS')))
    with_ours = MODELS.build(dict(cfg, conv_cfg=dict(type='WSConv2d')))
    mmcv_names = [n for n, m in with_mmcv.named_modules()
                  if isinstance(m, ConvWS2d)]
    our_names = [n for n, m in with_ours.named_modules()
                 if type(m) is WSConv2d]
    assert mmcv_names and our_names == mmcv_names
    assert not any(isinstance(m, ConvWS2d) for m in with_ours.modules())
