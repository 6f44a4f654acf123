"""The configs of ``configs/`` in mmengine's pure-Python style, inside the
installed package, so that any folder can inherit them::

    from mmengine.config import read_base

    with read_base():
        from mmdet_eps_l2.configs.eps_l2.mask_rcnn_r50_fpn_gn_ws_all_eps_l2_2x_coco import *  # noqa

    model.update(dict(roi_head=dict(bbox_head=dict(num_classes=3),
                                    mask_head=dict(num_classes=3))))

Types are classes (no ``custom_imports``); ``_base_/mmdet/`` holds mmdet's
base configs, written by ``tools/convert_mmdet_bases.py``.  Each file builds
the same model, optimizer wrapper and parameter groups as its namesake in
``configs/`` (tested).  These modules are configs, read by
``mmengine.Config.fromfile``; they are not imported as Python modules.
"""
