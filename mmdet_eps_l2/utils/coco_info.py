"""Two changes to mmdet's COCO API wrapper (``mmdet.datasets.api_wrappers.
COCO``, the class mmdet's COCO datasets and ``CocoMetric`` use); files and
results are otherwise read exactly as before, and pycocotools' own class is
not changed.

* **Files without ``"info"``.**  The COCO format makes ``"info"`` optional
  in practice: many converters leave it out and mmdet trains on such files.
  pycocotools 2.0.10's ``COCO.loadRes``, called at every evaluation, copies
  ``self.dataset['info']`` and raises ``KeyError: 'info'`` after the whole
  training run.  The wrapper's ``loadRes`` first sets a missing ``"info"``
  to ``{}``.
* **One parse per file.**  The data check
  (:mod:`mmdet_eps_l2.utils.data_check`) parses each annotation file before
  training; it leaves the parsed file in :data:`PARSED`, keyed by path,
  modification time and size, and the wrapper's ``__init__`` takes it from
  there (once) instead of parsing the same file again.
"""
import os
import os.path as osp
from typing import Dict, Optional, Tuple

from pycocotools.coco import COCO as _PyCOCO

#: parsed annotation files waiting for mmdet's COCO wrapper
PARSED: Dict[Tuple[str, int, int], dict] = {}


def _file_key(path: str) -> Optional[Tuple[str, int, int]]:
    try:
        stat = os.stat(path)
    except (OSError, TypeError):
        return None
    return (osp.realpath(path), stat.st_mtime_ns, stat.st_size)


def remember_parsed(path: str, data: dict) -> None:
    """Keep a parsed annotation file for the next COCO wrapper of it."""
    key = _file_key(path)
    if key is not None:
        PARSED[key] = data


def take_parsed(path) -> Optional[dict]:
    """The parsed file, if the data check left it and it is unchanged."""
    key = _file_key(path) if isinstance(path, str) else None
    return PARSED.pop(key, None) if key is not None else None


def _load_res(self, res_file):
    """``pycocotools.coco.COCO.loadRes``, with ``"info"`` optional."""
    self.dataset.setdefault('info', {})
    return _PyCOCO.loadRes(self, res_file)


def patch_mmdet_coco_api() -> None:
    """Install both changes on mmdet's COCO wrapper (idempotent)."""
    from mmdet.datasets.api_wrappers import COCO
    if getattr(COCO, '_mmdet_eps_l2_patched', False):
        return
    mmdet_init = COCO.__init__

    def __init__(self, annotation_file=None):
        data = take_parsed(annotation_file)
        if data is None:
            mmdet_init(self, annotation_file)
            return
        mmdet_init(self, None)
        self.dataset = data
        self.createIndex()
        self.img_ann_map = self.imgToAnns  # mmdet's aliases, re-pointed
        self.cat_img_map = self.catToImgs

    COCO.__init__ = __init__
    COCO.loadRes = _load_res
    COCO._mmdet_eps_l2_patched = True
