"""The mmcv ops the detectors need, checked on fixed inputs.

    python ops_parity.py --save OUT.pt [--device cpu]     # reference outputs
    python ops_parity.py --compare REF.pt [--device cpu]  # same, compared
    python ops_parity.py --device cuda                    # CUDA vs CPU

Runs whatever ``mmcv`` is first on the path: the full mmcv build (to save a
reference) or the partial build of ``mmcv_ops_subset/build.py``.  The
checks call mmcv's public functions, as mmdet does:

* ``mmcv.ops.nms`` on 300 random boxes (kept indices);
* ``mmcv.ops.roi_align`` forward and backward (``aligned=True``, sampling
  ratio 0 and 2, as in mmdet's RoI extractors and mask targets);
* ``mmcv.ops.sigmoid_focal_loss`` forward and backward (CUDA only in mmcv),
  against the closed form of mmdet's ``py_sigmoid_focal_loss``.

``--device cuda`` compares the CUDA kernels with the CPU kernels of the
same build (and the focal loss with its closed form).  Prints one JSON line
with the largest differences; exits 1 when one is over its bound.
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F

# largest absolute difference allowed, float32 kernels of two builds or
# two devices (summation order differs)
BOUND = 1e-5


def inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(300, 2, generator=g) * 200
    wh = torch.rand(300, 2, generator=g) * 60 + 4
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(300, generator=g)
    feats = torch.randn(2, 8, 32, 48, generator=g)
    r_xy = torch.rand(40, 2, generator=g) * torch.tensor([150., 100.])
    r_wh = torch.rand(40, 2, generator=g) * 80 + 2
    rois = torch.cat([torch.randint(0, 2, (40, 1), generator=g).float(),
                      r_xy, r_xy + r_wh], 1)
    grad = torch.randn(40, 8, 7, 7, generator=g)
    logits = torch.randn(64, 5, generator=g) * 3
    labels = torch.randint(0, 6, (64, ), generator=g)  # 5 = background
    return dict(boxes=boxes, scores=scores, feats=feats, rois=rois,
                grad=grad, logits=logits, labels=labels)


def run_nms_roi_align(data, device):
    from mmcv.ops import nms, roi_align
    out = {}
    _, keep = nms(data['boxes'].to(device), data['scores'].to(device), 0.5)
    out['nms_keep'] = keep.cpu()
    for ratio in (0, 2):
        feats = data['feats'].to(device).requires_grad_(True)
        y = roi_align(feats, data['rois'].to(device), (7, 7), 1 / 4., ratio,
                      'avg', True)
        y.backward(data['grad'].to(device))
        out[f'roi_align_forward_s{ratio}'] = y.detach().cpu()
        out[f'roi_align_backward_s{ratio}'] = feats.grad.cpu()
    return out


def focal_closed_form(logits, labels, gamma=2.0, alpha=0.25):
    """mmdet's ``py_sigmoid_focal_loss`` per element (no reduction)."""
    target = F.one_hot(labels, logits.size(1) + 1)[:, :-1].type_as(logits)
    p = logits.sigmoid()
    pt = (1 - p) * target + p * (1 - target)
    w = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    return F.binary_cross_entropy_with_logits(
        logits, target, reduction='none') * w


def check_focal(data, device):
    from mmcv.ops import sigmoid_focal_loss
    x = data['logits'].to(device).requires_grad_(True)
    loss = sigmoid_focal_loss(x, data['labels'].to(device), 2.0, 0.25, None,
                              'none')
    loss.sum().backward()
    xr = data['logits'].double().requires_grad_(True)
    ref = focal_closed_form(xr, data['labels'])
    ref.sum().backward()
    return dict(
        sigmoid_focal_loss_forward=float(
            (loss.detach().cpu().double() - ref.detach()).abs().max()),
        sigmoid_focal_loss_backward=float(
            (x.grad.cpu().double() - xr.grad).abs().max()))


def compare(out, ref):
    diffs = {'nms_keep_equal': bool(torch.equal(out['nms_keep'],
                                                ref['nms_keep']))}
    for key in out:
        if key.startswith('roi_align'):
            diffs[key] = float((out[key] - ref[key]).abs().max())
    return diffs


def not_compiled_message():
    """What a missing op says in a partial build (None in a full one)."""
    import importlib
    ext = importlib.import_module('mmcv._ext')
    if not hasattr(ext, 'COMPILED_OPS'):
        return None
    try:
        ext.deform_conv_forward()
    except NotImplementedError as e:
        return str(e)
    return 'deform_conv_forward did not raise'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--save')
    parser.add_argument('--compare')
    args = parser.parse_args(argv)
    import mmcv
    data = inputs()
    result = dict(mmcv=mmcv.__file__, device=args.device)
    out = run_nms_roi_align(data, args.device)
    if args.save:
        torch.save(out, args.save)
    if args.compare or args.device != 'cpu':
        ref = torch.load(args.compare) if args.compare else \
            run_nms_roi_align(data, 'cpu')
        result['vs'] = 'reference file' if args.compare else 'cpu kernels'
        result.update(compare(out, ref))
    if args.device != 'cpu':
        result.update(check_focal(data, args.device))
    result['nms_kept'] = int(out['nms_keep'].numel())
    result['not_compiled_message'] = not_compiled_message()
    bad = [k for k, v in result.items()
           if (k == 'nms_keep_equal' and v is not True) or
           (k.startswith(('roi_align', 'sigmoid_focal')) and not v <= BOUND)]
    result['failed'] = bad
    print(json.dumps(result))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
