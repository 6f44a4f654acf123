"""The installed stack works: compiled mmcv ops, the plugin import."""
import subprocess
import sys

import pytest
import torch


def last_line_of(script) -> str:
    """Run ``script`` in a fresh interpreter; the last line it printed
    (it must exit 0)."""
    proc = subprocess.run([sys.executable, str(script)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout.strip().splitlines()[-1]


def test_roi_align_on_linear_feature_map_is_exact():
    from mmcv.ops import RoIAlign
    # f(y, x) = x at pixel centres: bilinear sampling of a linear map is
    # exact, so each bin returns the column coordinate of its centre - 0.5.
    feat = torch.arange(8.).repeat(8, 1)[None, None]
    rois = torch.tensor([[0., 1., 1., 5., 5.]])
    out = RoIAlign((2, 2), spatial_scale=1., sampling_ratio=2,
                   aligned=True)(feat, rois)
    assert out.shape == (1, 1, 2, 2)
    assert torch.equal(out[0, 0], torch.tensor([[1.5, 3.5], [1.5, 3.5]]))


def test_nms_keeps_expected_boxes():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.equal(dets[:, 4], torch.tensor([0.9, 0.7]))


def test_plugin_registers_in_mmdet_scope():
    import mmdet_eps_l2
    from mmdet.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    assert MODELS.get('WSConv2d') is mmdet_eps_l2.models.WSConv2d
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(
        'EpsShiftedL2OptimWrapperConstructor'
    ) is mmdet_eps_l2.optim.EpsShiftedL2OptimWrapperConstructor
    assert HOOKS.get('WeightStatsHook') is mmdet_eps_l2.hooks.WeightStatsHook
    # mmcv's own ConvWS stays what it is
    from mmcv.cnn.bricks.conv_ws import ConvWS2d
    assert MODELS.get('ConvWS') is ConvWS2d


@pytest.mark.slow  # a fresh interpreter
def test_importing_the_plugin_registers_and_patches_nothing(tmp_path):
    # a fresh interpreter: mmdet's COCO wrapper, mmengine's logger and the
    # warning filters are the same objects before and after the import
    script = tmp_path / 'probe.py'
    script.write_text(
        'import warnings\n'
        'from mmdet.datasets.api_wrappers import COCO\n'
        'from mmengine.logging import MMLogger\n'
        'before = (list(warnings.filters), COCO.__init__, COCO.loadRes,\n'
        '          MMLogger.callHandlers)\n'
        'import mmdet_eps_l2\n'
        'after = (list(warnings.filters), COCO.__init__, COCO.loadRes,\n'
        '         MMLogger.callHandlers)\n'
        'assert before[0] == after[0], "new warnings filter"\n'
        'assert all(a is b for a, b in zip(before[1:], after[1:])), after\n'
        'assert sorted(vars(mmdet_eps_l2).get("__all__")) == '
        "['__version__']\n"
        'print("clean")\n')
    assert last_line_of(script) == 'clean'


@pytest.mark.slow  # a fresh interpreter
def test_the_allow_list_is_the_one_change_import_makes_to_torch(tmp_path):
    """In a fresh interpreter, importing the plugin adds to torch's
    weights_only allow-list exactly the classes of mmengine's checkpoints
    and the restricted getattr, and registers no optimizer hook."""
    script = tmp_path / 'probe.py'
    script.write_text(
        'import torch\n'
        'from torch.optim import optimizer\n'
        '# what the plugin imports (some of it allow-lists torch classes)\n'
        'import mmengine.hooks, mmengine.optim, mmengine.runner\n'
        'import mmdet.models, mmdet.registry, torch._dynamo\n'
        'before = set(map(repr, torch.serialization.get_safe_globals()))\n'
        'import mmdet_eps_l2\n'
        'from mmdet_eps_l2 import stack_fixes as fixes\n'
        'after = set(map(repr, torch.serialization.get_safe_globals()))\n'
        'expected = set(map(repr, fixes.mmengine_checkpoint_globals() + [\n'
        '    (fixes.history_buffer_getattr, "builtins.getattr")]))\n'
        'assert after == before | expected, after ^ (before | expected)\n'
        'assert len(after - before) >= 10\n'
        'assert not optimizer._global_optimizer_pre_hooks\n'
        'assert not optimizer._global_optimizer_post_hooks\n'
        'print("exact")\n')
    assert last_line_of(script) == 'exact'


def test_a_crafted_getattr_in_a_checkpoint_is_refused(tmp_path):
    import pickle

    import mmdet_eps_l2  # noqa: F401
    from mmengine.logging import HistoryBuffer

    class Crafted:
        def __reduce__(self):  # pickles builtins.getattr(HistoryBuffer, ..)
            return getattr, (HistoryBuffer, 'update')

    torch.save({'x': Crafted()}, tmp_path / 'crafted.pth')
    with pytest.raises(pickle.UnpicklingError) as e:
        torch.load(tmp_path / 'crafted.pth', weights_only=True)
    assert "refused getattr(<class 'mmengine.logging.history_buffer." \
        "HistoryBuffer'>, 'update')" in str(e.value)
