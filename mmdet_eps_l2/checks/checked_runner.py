"""``CheckedRunner``: mmengine's Runner that checks its config and data
first.

mmdet's own ``tools/train.py`` and ``tools/test.py`` build whatever
``runner_type`` names, so with ``runner_type = 'CheckedRunner'`` (set by
``configs/_base_/eps-l2_plugin.py``; this package's tools use it unless a
config names another runner) every entry point runs the same checks, here
and only here:

* :meth:`from_cfg`, before the work dir exists:
  :func:`~mmdet_eps_l2.checks.check_config` (plugin import, registered
  types, ``eps_l2``, hooks, the WS recipe, ``--amp`` without a GPU, and
  the data roots and annotation files of every dataloader and evaluator
  of the config, so a mistyped ``data_root`` stops here);
* :meth:`train` / :meth:`val` / :meth:`test`, before the loop starts:
  :func:`~mmdet_eps_l2.checks.check_data` reads the annotation files of
  the splits that loop reads (JSON, images, classes, heads'
  ``num_classes``, decoded sample images), so testing does not read the
  training annotations.  ``data_check = False`` in the config keeps the
  path checks and skips reading the files (``--no-data-check`` of this
  package's tools).

What only the built model shows (the ε-shift constructor finding no
trainable WS conv) is raised as a ``ConfigCheckError`` too, when
``train()`` builds the optimizer wrapper, before the first iteration.
A :class:`~mmdet_eps_l2.checks.ConfigCheckError` stops it with every
problem listed; notes (counts of odd annotations, frozen random stages)
are logged as warnings.  Otherwise it is mmengine's ``Runner``, unchanged.
"""
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .config import ConfigCheckError, check_config, check_data


# mmengine's root registry: mmdet's tools build ``runner_type`` before any
# default scope is set; mmdet's RUNNERS (a child) finds it there too
@RUNNERS.register_module()
class CheckedRunner(Runner):
    """mmengine's ``Runner`` with the plugin's checks before it starts."""

    @classmethod
    def from_cfg(cls, cfg) -> 'CheckedRunner':
        check_config(cfg)
        return super().from_cfg(cfg)

    def _check_data(self, entry: str) -> None:
        inspect = self.cfg.get('data_check', True)
        for note in check_data(self.cfg, entry, inspect_data=inspect):
            self.logger.warning(note)

    def build_optim_wrapper(self, optim_wrapper):
        """mmengine's; a ``ValueError`` while it builds (the ε-shift
        constructor's refusals that need the built model: no trainable WS
        conv, a parameter reached twice) becomes a
        :class:`~mmdet_eps_l2.checks.ConfigCheckError` naming
        ``optim_wrapper``, raised before the first iteration."""
        try:
            return super().build_optim_wrapper(optim_wrapper)
        except ConfigCheckError:
            raise
        except ValueError as e:
            raise ConfigCheckError(
                f'config check failed:\n  - optim_wrapper: {e}') from e

    def train(self):
        self._check_data('train')
        return super().train()

    def val(self):
        self._check_data('val')
        return super().val()

    def test(self):
        self._check_data('test')
        return super().test()
