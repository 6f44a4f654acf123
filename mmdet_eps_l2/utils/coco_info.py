"""Evaluate on COCO-format files that have no top-level ``"info"``.

The COCO format makes ``"info"`` optional in practice: many converters
leave it out and mmdet trains on such files.  pycocotools 2.0.10's
``COCO.loadRes``, which mmdet's ``CocoMetric`` calls at every evaluation,
copies ``self.dataset['info']`` and raises ``KeyError: 'info'`` — after the
whole training run.  :func:`accept_coco_without_info` gives mmdet's
``COCO`` wrapper (``mmdet.datasets.api_wrappers.COCO``, the class every
mmdet metric uses) a ``loadRes`` that first sets a missing ``"info"`` to
``{}``; files that have one are untouched, and pycocotools' own class is
not changed.
"""
from pycocotools.coco import COCO as _PyCOCO


def _load_res(self, res_file):
    """``pycocotools.coco.COCO.loadRes``, with ``"info"`` optional."""
    self.dataset.setdefault('info', {})
    return _PyCOCO.loadRes(self, res_file)


def accept_coco_without_info() -> None:
    """Install :func:`_load_res` on mmdet's ``COCO`` (idempotent)."""
    from mmdet.datasets.api_wrappers import COCO
    if COCO.__dict__.get('loadRes') is not _load_res:
        COCO.loadRes = _load_res
