"""The installed stack works: compiled mmcv ops, the plugin import."""
import torch


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
    assert mmdet_eps_l2.__version__ == '0.1.0'
    assert MODELS.get('WSConv2d') is mmdet_eps_l2.WSConv2d
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(
        'EpsShiftedL2OptimWrapperConstructor'
    ) is mmdet_eps_l2.EpsShiftedL2OptimWrapperConstructor
    assert HOOKS.get('WeightStatsHook') is mmdet_eps_l2.WeightStatsHook
    # mmcv's own ConvWS stays what it is
    from mmcv.cnn.bricks.conv_ws import ConvWS2d
    assert MODELS.get('ConvWS') is ConvWS2d
