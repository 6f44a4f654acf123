"""``CheckedRunner``: mmengine's Runner that checks its config first.

This package's ``tools/train.py`` and ``tools/test.py`` check a config
before they build a Runner.  mmdet's own ``tools/train.py`` and
``tools/test.py`` build whatever ``runner_type`` names, so with
``runner_type = 'CheckedRunner'`` (set by ``configs/_base_/eps-l2_plugin.py``)
they run the same checks (:func:`mmdet_eps_l2.utils.check_config`): an
unknown conv type, for instance, is reported with its config key instead of
mmcv's ``KeyError: 'Cannot find None in registry'``.

* :meth:`from_cfg`, before the work dir exists: everything but the data
  (plugin import, registered types, ``eps_l2``, hooks, the WS recipe,
  ``--amp`` without a GPU);
* :meth:`train` / :meth:`test` / :meth:`val`, before the loop starts: the
  data of the splits that loop reads (paths, JSON, classes, heads'
  ``num_classes``, sampled images), so testing does not need the training
  data.  ``data_check = False`` in the config keeps the path checks and
  skips reading the annotation files (``--no-data-check`` of this
  package's tools).

A :class:`~mmdet_eps_l2.utils.ConfigCheckError` stops it with every
problem listed.  Otherwise it is mmengine's ``Runner``, unchanged.
"""
from mmengine.runner import Runner
from mmengine.registry import RUNNERS

from ..utils.preflight import check_config

#: the dataloaders and evaluators each entry point reads
SPLITS = {
    'train': ('train_dataloader', 'val_dataloader', 'val_evaluator'),
    'val': ('val_dataloader', 'val_evaluator'),
    'test': ('test_dataloader', 'test_evaluator'),
}


# mmengine's root registry: mmdet's tools build ``runner_type`` before any
# default scope is set; mmdet's RUNNERS (a child) finds it there too
@RUNNERS.register_module()
class CheckedRunner(Runner):
    """mmengine's ``Runner`` with :func:`check_config` before it starts."""

    @classmethod
    def from_cfg(cls, cfg) -> 'CheckedRunner':
        check_config(cfg, check_data=False)
        return super().from_cfg(cfg)

    def _check_data(self, entry: str) -> None:
        inspect = self.cfg.get('data_check', True)
        for note in check_config(self.cfg, splits=SPLITS[entry],
                                 inspect_data=inspect):
            self.logger.warning(note)

    def train(self):
        self._check_data('train')
        return super().train()

    def val(self):
        self._check_data('val')
        return super().val()

    def test(self):
        self._check_data('test')
        return super().test()
