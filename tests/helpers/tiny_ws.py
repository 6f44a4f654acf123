"""A tiny WS classifier, its random data and a λ probe, registered in
mmengine's root registries so that config files of any scope name them."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dataset import BaseDataset
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, MODELS

from mmdet_eps_l2.models import WSConv2d
from mmdet_eps_l2.ops.param_groups import is_shifted, shift_lambda


@MODELS.register_module(force=True)
class TinyWSClassifier(BaseModel):
    """Two WS convs, a GN and a linear head; ``zero_loss=True`` makes every
    loss gradient exactly 0, so only the regularizer moves the weights."""

    def __init__(self, zero_loss: bool = False, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv1 = WSConv2d(3, 8, 3, padding=1)
        self.gn1 = nn.GroupNorm(4, 8)
        self.conv2 = WSConv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 2)
        self.zero_loss = zero_loss

    def forward(self, inputs, labels, mode='loss'):
        x = F.relu(self.gn1(self.conv1(inputs)))
        logits = self.fc(F.relu(self.conv2(x)).mean((2, 3)))
        loss = F.cross_entropy(logits, labels)
        return dict(loss=loss * 0 if self.zero_loss else loss)


@DATASETS.register_module(force=True)
class TinyRandomImages(BaseDataset):
    """``n`` random 3×8×8 images with labels 0/1, the same for a seed."""

    def __init__(self, n: int = 16, seed: int = 0):
        self.n, self.seed = n, seed
        super().__init__(lazy_init=False, serialize_data=False)

    def load_data_list(self):
        g = torch.Generator().manual_seed(self.seed)
        return [dict(inputs=torch.randn(3, 8, 8, generator=g),
                     labels=torch.randint(0, 2, (), generator=g))
                for _ in range(self.n)]

    def __getitem__(self, idx):
        return self.data_list[idx]


@HOOKS.register_module(force=True)
class ShiftLambdaProbe(Hook):
    """Records, at every optimizer step, ``(λ of the shift, weight_decay
    the optimizer applies)`` of each ε-shifted group (``self.seen``)."""

    def __init__(self):
        self.seen = []

    def before_train(self, runner):
        # registered after the shift's own pre-hook: sees what it set
        runner.optim_wrapper.optimizer.register_step_pre_hook(self._record)

    def _record(self, optimizer, args, kwargs):
        self.seen.append([(shift_lambda(g), g['weight_decay'])
                          for g in optimizer.param_groups if is_shifted(g)])


TINY_CONFIG = """\
custom_imports = dict(imports=['mmdet_eps_l2', 'helpers.tiny_ws'],
                      allow_failed_imports=False)
default_scope = 'mmengine'
model = dict(type='TinyWSClassifier')
train_dataloader = dict(
    dataset=dict(type='TinyRandomImages', n=16), batch_size=4,
    num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
optim_wrapper = dict(
    constructor='EpsShiftedL2OptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-2),
    paramwise_cfg=dict(eps_l2=dict(eps=1e-2)))
train_cfg = dict(by_epoch=False, max_iters=4)
custom_hooks = [dict(type='WeightStatsHook', interval=2)]
default_hooks = dict(logger=dict(type='LoggerHook', interval=2),
                     checkpoint=None)
"""


def write_tiny_config(path, extra: str = '') -> str:
    """The tiny config file (plus ``extra`` lines) at ``path``."""
    path.write_text(TINY_CONFIG + extra)
    return str(path)
