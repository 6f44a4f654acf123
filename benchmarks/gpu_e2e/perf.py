"""GPU performance, side by side in one run, each with its peak memory.

    python perf.py [--device cuda] [--tiny] [--json OUT]

(a) GN+WS ResNet-50-FPN (mmdet's Mask R-CNN gn+ws backbone and neck)
    forward + backward at 2x3x800x1333, float32 and AMP (float16 autocast):
    ``WSConv2d`` vs mmcv's ``ConvWS2d`` vs plain ``Conv2d`` (same weights);
(b) one optimizer step over the Mask R-CNN R-50-FPN GN+WS parameter set
    (random gradients): ``EpsShiftedL2OptimWrapperConstructor`` (SGD, its
    default foreach update, and with ``fused=True``) vs ``SGD(fused=True)``
    and ``SGD(foreach=True)`` with plain weight decay;
(c) a full Mask R-CNN training iteration at batch 2 x 800x1333 with AMP
    (``AmpOptimWrapper``, float16): this package's config vs mmdet's stock
    gn+ws config (mmcv ConvWS, default constructor).

Times are medians of rounds that alternate the candidates; ratios are per
round (median, min-max).  torch's default TF32 settings.  ``--tiny``:
64x96 inputs and few rounds (the CPU dry run).
"""
import argparse
import json
import os.path as osp
import sys

import torch

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(HERE))
from common import (MASK_RCNN_GN_WS, build_mmdet_model,  # noqa: E402
                    load_mmdet_config, time_side_by_side)

OURS = osp.join(ROOT, 'configs', 'eps_l2',
                'mask-rcnn_r50_fpn_gn-ws-all_eps-l2_2x_coco.py')
LR, MOMENTUM, WD, EPS = 0.02, 0.9, 1e-4, 1e-3


class Bench:

    def __init__(self, device, tiny):
        self.device = torch.device(device)
        self.cuda = self.device.type == 'cuda'
        self.tiny = tiny
        self.amp_dtype = torch.float16 if self.cuda else torch.bfloat16

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def timed(self, candidates, repeats, warmup=2):
        return time_side_by_side(candidates, repeats, warmup, sync=self.sync)

    def peak_mib(self, fn):
        """Peak memory of one call (CUDA; None elsewhere)."""
        if not self.cuda:
            fn()
            return None
        self.sync()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        fn()
        self.sync()
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)

    def free(self):
        if self.cuda:
            torch.cuda.empty_cache()


def figures(times, names, base, peaks, unit=1e3):
    out = {}
    for name in names:
        r = times.ratio(name, base)
        out[name] = dict(ms=round(times[name] * unit, 3),
                         ratio_to=base, ratio_median=round(r['median'], 4),
                         ratio_min=round(r['min'], 4),
                         ratio_max=round(r['max'], 4),
                         peak_mib=peaks.get(name))
    return out


# ------------------------------------------------------------------ (a)
def bench_trunk(b):
    h, w = (64, 96) if b.tiny else (800, 1333)
    repeats = 1 if b.tiny else 10
    torch.manual_seed(0)
    x = torch.randn(2, 3, h, w, device=b.device)
    convs = {'WSConv2d': 'WSConv2d', 'mmcv ConvWS2d': 'ConvWS',
             'plain Conv2d': 'plain'}
    trunks = {}
    for name, conv in convs.items():
        model = build_mmdet_model(MASK_RCNN_GN_WS, conv)
        trunks[name] = torch.nn.Sequential(model.backbone, model.neck)
    state = trunks['WSConv2d'].state_dict()
    for t in trunks.values():
        t.load_state_dict(state)
        t.to(b.device).train()

    def step(trunk, amp):
        def run():
            with torch.autocast(b.device.type, dtype=b.amp_dtype,
                                enabled=amp):
                outs = trunk(x)
            sum(o.float().mean() for o in outs).backward()
            trunk.zero_grad(set_to_none=True)
        return run

    result = dict(input=f'2x3x{h}x{w}')
    for amp in (False, True):
        tag = f'amp_{str(b.amp_dtype).split(".")[-1]}' if amp else 'fp32'
        cands = {k: step(t, amp) for k, t in trunks.items()}
        peaks = {k: b.peak_mib(fn) for k, fn in cands.items()}
        times = b.timed(cands, repeats, warmup=0 if b.tiny else 2)
        result[tag] = figures(times, cands, 'plain Conv2d', peaks)
        r = times.ratio('WSConv2d', 'mmcv ConvWS2d')
        result[tag]['WSConv2d_to_mmcv_median'] = round(r['median'], 4)
    del trunks
    b.free()
    return result


# ------------------------------------------------------------------ (b)
def model_with_grads(device, seed=0):
    model = build_mmdet_model(MASK_RCNN_GN_WS, 'WSConv2d').to(device)
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.requires_grad_(True)  # the full parameter set, no frozen stage
        p.grad = (torch.randn(p.shape, generator=gen) * 1e-3).to(device)
    return model


def bench_step(b):
    from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor
    from mmdet_eps_l2.ops.ws_family import eps_shift_weights
    repeats = 1 if b.tiny else 50

    def ours(**sgd_kw):
        model = model_with_grads(b.device)
        cfg = dict(type='OptimWrapper', optimizer=dict(
            type='SGD', lr=LR, momentum=MOMENTUM, weight_decay=WD, **sgd_kw))
        opt = EpsShiftedL2OptimWrapperConstructor(
            cfg, dict(eps_l2=dict(eps=EPS)))(model).optimizer
        return model, opt

    def plain(**sgd_kw):
        model = model_with_grads(b.device)
        return model, torch.optim.SGD(model.parameters(), lr=LR,
                                      momentum=MOMENTUM, weight_decay=WD,
                                      **sgd_kw)

    built, errors = {}, {}
    for name, make in (
            ('eps-shifted (SGD default)', lambda: ours()),
            ('eps-shifted (SGD fused=True)', lambda: ours(fused=True)),
            ('SGD fused=True', lambda: plain(fused=True)),
            ('SGD foreach=True', lambda: plain(foreach=True))):
        try:
            built[name] = make()
        except Exception as e:  # e.g. fused SGD not supported here
            errors[name] = f'{type(e).__name__}: {e}'
    base = 'SGD fused=True' if 'SGD fused=True' in built \
        else 'SGD foreach=True'
    cands = {k: opt.step for k, (_, opt) in built.items()}
    peaks = {k: b.peak_mib(fn) for k, fn in cands.items()}
    times = b.timed(cands, repeats, warmup=0 if b.tiny else 3)
    model = built['eps-shifted (SGD default)'][0]
    result = dict(
        numel_millions=round(sum(p.numel()
                                 for p in model.parameters()) / 1e6, 2),
        tensors=len(list(model.parameters())),
        shifted_weights=len(eps_shift_weights(model)),
        steps=figures(times, cands, base, peaks), errors=errors)
    del built, cands, model
    b.free()
    return result


# ------------------------------------------------------------------ (c)
def bench_iteration(b):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmengine.optim import build_optim_wrapper
    h, w = (64, 96) if b.tiny else (800, 1333)
    repeats = 2 if b.tiny else 8
    configs = {'ours (WSConv2d + eps-shifted constructor)': OURS,
               'stock (mmcv ConvWS + default constructor)':
               'mmdet::gn+ws/mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py'}
    steps, models = {}, []
    packed = demo_mm_inputs(2, (3, h, w), num_items=[4, 4], num_classes=80,
                            with_mask=True)
    for name, config in configs.items():
        cfg = load_mmdet_config(config)
        torch.manual_seed(0)
        model = MODELS.build(cfg.model).to(b.device)
        if models:
            model.load_state_dict(models[0].state_dict())
        model.train()
        models.append(model)
        wrapper_cfg = dict(cfg.optim_wrapper)
        if b.cuda:
            wrapper_cfg.update(type='AmpOptimWrapper', dtype='float16')
        wrapper = build_optim_wrapper(model, wrapper_cfg)

        def step(model=model, wrapper=wrapper):
            with wrapper.optim_context(model):
                data = model.data_preprocessor(packed, True)
                losses = model(**data, mode='loss')
            loss, _ = model.parse_losses(losses)
            wrapper.update_params(loss)
        steps[name] = step
    peaks = {k: b.peak_mib(fn) for k, fn in steps.items()}
    times = b.timed(steps, repeats, warmup=2)
    stock = list(steps)[1]
    result = dict(batch=f'2x3x{h}x{w}', amp=b.cuda,
                  iterations=figures(times, steps, stock, peaks))
    del models, steps
    b.free()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--tiny', action='store_true')
    parser.add_argument('--only', nargs='+', choices=('trunk', 'step',
                                                      'iteration'))
    parser.add_argument('--json')
    args = parser.parse_args(argv)
    b = Bench(args.device, args.tiny)
    name = torch.cuda.get_device_name(b.device) if b.cuda else 'CPU'
    result = dict(device=name, torch=torch.__version__, errors={})
    print(f'# perf on {name}, torch {torch.__version__}', flush=True)
    for key, fn in (('trunk', bench_trunk), ('step', bench_step),
                    ('iteration', bench_iteration)):
        if args.only and key not in args.only:
            continue
        try:
            result[key] = fn(b)
            print(f'{key}: {json.dumps(result[key])}', flush=True)
        except Exception as e:  # report it, go on with the next
            result['errors'][key] = f'{type(e).__name__}: {e}'
            print(f'{key}: could not run: {result["errors"][key]}',
                  flush=True)
        if args.json:  # what has run so far, in case of a time-out
            with open(args.json, 'w') as f:
                json.dump(result, f, indent=1)
    result['failed'] = list(result['errors'])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    return 1 if result['errors'] else 0


if __name__ == '__main__':
    sys.exit(main())
