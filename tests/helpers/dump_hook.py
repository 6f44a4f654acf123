"""A test-only hook: every rank saves its parameters after training."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmdet.registry import HOOKS


@HOOKS.register_module()
class RankParamsDumpHook(Hook):

    def after_train(self, runner) -> None:
        model = getattr(runner.model, 'module', runner.model)
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save(state, osp.join(runner.work_dir,
                                   f'rank{get_rank()}_params.pth'))
