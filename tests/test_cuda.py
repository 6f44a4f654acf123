"""The plugin on a GPU: WSConv2d against a float64 reference, autocast,
channels_last, the ε-shifted step, mmengine's AmpOptimWrapper, the mmcv ops
the detectors call, and the toy detectors trained with ``--amp``.  Marked
``cuda``: skipped where torch sees no GPU (``tests/conftest.py``)."""
import json
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers.toy import (TOOLS, TOY_MASK_RCNN, TOY_RETINANET, run_tool,
                         scalars)

pytestmark = pytest.mark.cuda
CUDA = torch.device('cuda')


@pytest.fixture(autouse=True)
def exact_float32():
    """float32 convolutions and matmuls without TF32 for the comparisons."""
    saved = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    (torch.backends.cudnn.allow_tf32,
     torch.backends.cuda.matmul.allow_tf32) = saved


def max_rel(a, b):
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def mmcv_formula(w, eps=1e-5):
    """mmcv's ``conv_ws_2d`` standardization, float64 reference."""
    flat = w.flatten(1)
    mean = flat.mean(1).view(-1, 1, 1, 1)
    std = flat.std(1).view(-1, 1, 1, 1)
    return (w - mean) / (std + eps)


@pytest.fixture
def conv_and_reference():
    from mmdet_eps_l2.models import WSConv2d
    torch.manual_seed(0)
    conv = WSConv2d(16, 32, 3, padding=1).to(CUDA)
    x = torch.randn(4, 16, 24, 20, device=CUDA)
    grad = torch.randn(4, 32, 24, 20, device=CUDA)
    xr = x.double().requires_grad_(True)
    wr = conv.weight.detach().double().requires_grad_(True)
    br = conv.bias.detach().double().requires_grad_(True)
    F.conv2d(xr, mmcv_formula(wr), br, padding=1).backward(grad.double())
    ref = F.conv2d(xr, mmcv_formula(wr), br, padding=1).detach()
    return conv, x, grad, ref, xr.grad, wr.grad


def test_ws_conv_float32_matches_float64(conv_and_reference):
    conv, x, grad, ref, ref_gx, ref_gw = conv_and_reference
    x = x.requires_grad_(True)
    out = conv(x)
    out.backward(grad)
    assert max_rel(out, ref) <= 1e-5
    assert max_rel(x.grad, ref_gx) <= 1e-5
    assert max_rel(conv.weight.grad, ref_gw) <= 1e-4


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_ws_conv_under_autocast_is_finite_and_close(conv_and_reference,
                                                    dtype):
    conv, x, grad, ref, _, ref_gw = conv_and_reference
    with torch.autocast('cuda', dtype=dtype):
        out = conv(x)
    out.float().backward(grad)
    assert out.dtype == dtype
    assert torch.isfinite(out).all() and torch.isfinite(
        conv.weight.grad).all()
    assert max_rel(out, ref) <= 2e-2
    assert max_rel(conv.weight.grad, ref_gw) <= 5e-2


def test_ws_conv_channels_last(conv_and_reference):
    conv, x, grad, ref, _, ref_gw = conv_and_reference
    conv = conv.to(memory_format=torch.channels_last)
    out = conv(x.to(memory_format=torch.channels_last))
    out.backward(grad)
    assert max_rel(out, ref) <= 1e-5
    assert max_rel(conv.weight.grad, ref_gw) <= 1e-4


class TinyWSNet(nn.Module):

    def __init__(self):
        super().__init__()
        from mmdet_eps_l2.models import WSConv2d
        self.c1 = WSConv2d(3, 16, 3, padding=1, bias=False)
        self.g1 = nn.GroupNorm(4, 16)
        self.c2 = WSConv2d(16, 16, 3, padding=1, bias=False)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = F.relu(self.g1(self.c1(x)))
        return self.fc(F.relu(self.c2(x)).mean((2, 3)))


def _wrapper(model, wrapper='OptimWrapper', optimizer=None, **kw):
    from mmengine.optim import build_optim_wrapper
    optimizer = optimizer or dict(type='SGD', lr=0.1, momentum=0.9,
                                  weight_decay=1e-2)
    return build_optim_wrapper(model, dict(
        type=wrapper, optimizer=optimizer, **kw,
        constructor='EpsShiftedL2OptimWrapperConstructor',
        paramwise_cfg=dict(eps_l2=dict(eps=1e-2))))


def _batch():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(8, 3, 16, 16, generator=g).to(CUDA),
            torch.randint(0, 5, (8, ), generator=g).to(CUDA))


def test_eps_shifted_sgd_step_equals_the_papers_update():
    """First step, float32 on the GPU against the reference update in
    float64: g + λ((1 - ε/σ)(w - μ) + μ) on WS weights, g + λw else."""
    torch.manual_seed(1)
    model = TinyWSNet().to(CUDA)
    wrapper = _wrapper(model)
    x, y = _batch()
    F.cross_entropy(model(x), y).backward()
    ws = {id(model.c1.weight), id(model.c2.weight)}
    expected = {}
    for name, p in model.named_parameters():
        w, g = p.detach().double(), p.grad.double()
        if id(p) in ws:
            flat = w.flatten(1)
            mean = flat.mean(1).view(-1, 1, 1, 1)
            std = flat.std(1).view(-1, 1, 1, 1)
            g = g + 1e-2 * ((1 - 1e-2 / std) * (w - mean) + mean)
        else:
            g = g + 1e-2 * w
        expected[name] = w - 0.1 * g
    wrapper.step()
    for name, p in model.named_parameters():
        assert max_rel(p, expected[name]) <= 1e-6, name


@pytest.mark.parametrize('optimizer', [
    dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-2),
    dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-2, fused=True),
    dict(type='AdamW', lr=1e-2, weight_decay=1e-2, fused=True),
])
def test_amp_optim_wrapper_step_equals_the_fp32_step(optimizer):
    """mmengine's AmpOptimWrapper (fp16, loss scale 2^14) on the same fp32
    loss: scaling by a power of two is exact, so the steps agree."""
    torch.manual_seed(1)
    fp32_model, amp_model = TinyWSNet().to(CUDA), TinyWSNet().to(CUDA)
    amp_model.load_state_dict(fp32_model.state_dict())
    fp32 = _wrapper(fp32_model, optimizer=dict(optimizer))
    amp = _wrapper(amp_model, 'AmpOptimWrapper', optimizer=dict(optimizer),
                   dtype='float16', loss_scale=dict(init_scale=2.**14))
    x, y = _batch()
    for _ in range(3):
        fp32.update_params(F.cross_entropy(fp32_model(x), y))
        amp.update_params(F.cross_entropy(amp_model(x), y))
    for a, b in zip(amp_model.parameters(), fp32_model.parameters()):
        assert max_rel(a, b) <= 2e-6
    for _ in range(3):  # under autocast: finite
        with amp.optim_context(amp_model):
            loss = F.cross_entropy(amp_model(x), y)
        amp.update_params(loss)
    assert all(torch.isfinite(p).all() for p in amp_model.parameters())


def _ops_inputs():
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, generator=g) * 200
    boxes = torch.cat([xy, xy + torch.rand(300, 2, generator=g) * 60 + 4], 1)
    r_xy = torch.rand(40, 2, generator=g) * torch.tensor([150., 100.])
    rois = torch.cat([torch.randint(0, 2, (40, 1), generator=g).float(),
                      r_xy, r_xy + torch.rand(40, 2, generator=g) * 80 + 2],
                     1)
    return dict(boxes=boxes, scores=torch.rand(300, generator=g),
                feats=torch.randn(2, 8, 32, 48, generator=g), rois=rois,
                grad=torch.randn(40, 8, 7, 7, generator=g))


def test_mmcv_nms_and_roi_align_match_their_cpu_kernels():
    """The ops mmdet's Mask R-CNN and RetinaNet call, as mmdet calls them:
    CUDA against the CPU kernels (1e-5: summation order)."""
    from mmcv.ops import nms, roi_align
    data = _ops_inputs()
    keep = {d: nms(data['boxes'].to(d), data['scores'].to(d), 0.5)[1].cpu()
            for d in ('cpu', 'cuda')}
    assert torch.equal(keep['cpu'], keep['cuda'])
    for ratio in (0, 2):
        out = {}
        for d in ('cpu', 'cuda'):
            feats = data['feats'].to(d).requires_grad_(True)
            y = roi_align(feats, data['rois'].to(d), (7, 7), 1 / 4., ratio,
                          'avg', True)
            y.backward(data['grad'].to(d))
            out[d] = (y.detach().cpu(), feats.grad.cpu())
        for a, b in zip(out['cuda'], out['cpu']):
            assert float((a - b).abs().max()) <= 1e-5


def test_mmcv_sigmoid_focal_loss_matches_mmdets_closed_form():
    from mmcv.ops import sigmoid_focal_loss
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 5, generator=g) * 3
    labels = torch.randint(0, 6, (64, ), generator=g)  # 5: background
    x = logits.to(CUDA).requires_grad_(True)
    sigmoid_focal_loss(x, labels.to(CUDA), 2.0, 0.25, None,
                       'none').sum().backward()
    xr = logits.double().requires_grad_(True)
    target = F.one_hot(labels, 6)[:, :-1].double()
    p = xr.sigmoid()
    pt = (1 - p) * target + p * (1 - target)
    weight = (0.25 * target + 0.75 * (1 - target)) * pt.pow(2)
    (F.binary_cross_entropy_with_logits(xr, target, reduction='none') *
     weight).sum().backward()
    assert float((x.grad.cpu().double() - xr.grad).abs().max()) <= 1e-5


@pytest.mark.slow
@pytest.mark.parametrize('config, keys', [
    (TOY_MASK_RCNN, ('coco/bbox_mAP', 'coco/segm_mAP')),
    (TOY_RETINANET, ('coco/bbox_mAP', )),
])
def test_a_toy_detector_trains_with_amp_and_evaluates(in_toy_root, config,
                                                      keys):
    """tools/train.py --amp: 40 iterations on the GPU, losses finite, the
    loss scale kept, then evaluated."""
    work = in_toy_root / ('gpu_' + osp.basename(config)[:10])
    proc = run_tool([osp.join(TOOLS, 'train.py'), config, '--amp',
                     '--work-dir', str(work), '--cfg-options',
                     'train_cfg.max_iters=40', 'train_cfg.val_interval=40',
                     'model.test_cfg.rcnn.score_thr=0.0'
                     if 'mask' in config else 'model.test_cfg.score_thr=0.0'],
                    cwd=in_toy_root, timeout=480)
    assert proc.returncode == 0, proc.stdout[-3000:]
    records = scalars(str(work))
    losses = [r['loss'] for r in records if 'loss' in r]
    assert losses and all(torch.isfinite(torch.tensor(losses)))
    metrics = [r for r in records if keys[0] in r]
    assert len(metrics) == 1
    for key in keys:
        assert 0.0 <= metrics[0][key] <= 1.0
    print(json.dumps({k: metrics[0][k] for k in keys}))
