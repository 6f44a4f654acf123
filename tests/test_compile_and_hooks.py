"""``compile = True`` with the plugin, and the plugin's hooks leaving
nothing behind: a Runner on a tiny WS model, compiled against eager."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.optim.optimizer import (_global_optimizer_post_hooks,
                                   _global_optimizer_pre_hooks)

from mmdet_eps_l2.models import WSConv2d
from mmdet_eps_l2.optim import EpsShiftedL2StepHook


class TinyWSModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.conv1 = WSConv2d(3, 8, 3, padding=1)
        self.gn1 = nn.GroupNorm(4, 8)
        self.conv2 = WSConv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 2)

    def forward(self, inputs, labels, mode='loss'):
        x = F.relu(self.gn1(self.conv1(inputs)))
        logits = self.fc(F.relu(self.conv2(x)).mean((2, 3)))
        return dict(loss=F.cross_entropy(logits, labels))


def _data(n=16):
    g = torch.Generator().manual_seed(0)
    return [dict(inputs=torch.randn(3, 8, 8, generator=g),
                 labels=torch.randint(0, 2, (), generator=g))
            for _ in range(n)]


def _runner(work_dir, model, iters=4, optimizer=None, hooks=(), **kw):
    return Runner(
        model=model,
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_data(), batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(
            constructor='EpsShiftedL2OptimWrapperConstructor',
            optimizer=optimizer or dict(type='SGD', lr=0.1, momentum=0.9,
                                        weight_decay=1e-2),
            paramwise_cfg=dict(eps_l2=dict(eps=1e-2))),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        custom_hooks=[dict(type='WeightStatsHook', interval=2), *hooks],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=2),
                           checkpoint=None),
        default_scope='mmdet',
        **kw)


def _trained_weights(tmp_path, name, extra):
    from mmengine.config import Config

    from helpers.tiny_ws import write_tiny_config
    cfg = Config.fromfile(write_tiny_config(tmp_path / f'{name}.py', extra))
    cfg.work_dir = str(tmp_path / name)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return {k: v.detach().clone()
            for k, v in runner.model.named_parameters()}


def _max_rel_diff(a, b):
    return max(float(((a[k] - b[k]).abs() / b[k].abs().clamp_min(1e-6)).max())
               for k in a)


@pytest.mark.slow
def test_compile_true_from_a_config_file_matches_eager(tmp_path):
    """mmengine compiles ``train_step`` (forward, backward and the optimizer
    step with the shift's hook), from a config file.  Compiled kernels
    reorder float32 sums; the tolerance is torch's own: the same model and
    steps with the stock constructor and plain weight decay, compiled
    against eager, measured here."""
    stock = ("optim_wrapper = dict(optimizer=dict(type='SGD',"
             " lr=0.1, momentum=0.9, weight_decay=1e-2))\n")
    stock_eager = _trained_weights(tmp_path, 'stock_eager', stock)
    torch_diff = _max_rel_diff(
        _trained_weights(tmp_path, 'stock_compiled', stock + 'compile = True'),
        stock_eager)
    eager = _trained_weights(tmp_path, 'eager', '')
    compiled = _trained_weights(tmp_path, 'compiled', 'compile = True\n')
    ours_diff = _max_rel_diff(compiled, eager)
    print(f'compiled vs eager after 4 steps, max relative difference: '
          f'torch alone {torch_diff:.3g}, with the shift {ours_diff:.3g}')
    assert ours_diff <= 4 * torch_diff + 1e-6
    # and the shift did act: the WS weights differ from the stock run's
    assert not torch.equal(stock_eager['conv1.weight'],
                           eager['conv1.weight'])


class RaiseAt(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == 3:
            raise RuntimeError('stop')


def test_a_run_that_raises_leaves_no_hook_in_torch(tmp_path):
    pre, post = len(_global_optimizer_pre_hooks), len(
        _global_optimizer_post_hooks)
    runner = _runner(tmp_path, TinyWSModel(), hooks=[RaiseAt()])
    with pytest.raises(RuntimeError, match='stop'):
        runner.train()
    assert (len(_global_optimizer_pre_hooks),
            len(_global_optimizer_post_hooks)) == (pre, post)
    # the runner's own optimizer holds the shift's hook and, until
    # after_train, the gradient reader in it
    hooks = list(runner.optim_wrapper.optimizer._optimizer_step_pre_hooks
                 .values())
    assert len(hooks) == 1
    assert isinstance(hooks[0], EpsShiftedL2StepHook)
    assert len(hooks[0].grad_readers) == 1
    # an optimizer made beside the run is not touched
    other = torch.optim.SGD([nn.Parameter(torch.ones(2))], lr=0.1)
    assert len(other._optimizer_step_pre_hooks) == 0


def test_weight_stats_hook_reads_every_optimizer_of_a_wrapper_dict(tmp_path):
    """Two optimizers (OptimWrapperDict): both are read, each once."""
    from mmengine.logging import MMLogger
    from mmengine.optim import OptimWrapperDict, build_optim_wrapper

    from mmdet_eps_l2.hooks import WeightStatsHook

    model = TinyWSModel()
    parts = {}
    for name, module in (('a', model.conv1), ('b', model.conv2)):
        parts[name] = build_optim_wrapper(module, dict(
            constructor='EpsShiftedL2OptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-2),
            paramwise_cfg=dict(eps_l2=dict(eps=1e-2))))
    wrappers = OptimWrapperDict(**parts)

    class FakeRunner:
        optim_wrapper = wrappers
        logger = MMLogger.get_current_instance()

    FakeRunner.model = model
    hook = WeightStatsHook(interval=1)
    hook.before_train(FakeRunner)
    hook._record = True
    loss = model(torch.randn(2, 3, 8, 8), torch.tensor([0, 1]))['loss']
    loss.backward()
    expected = {k: float(m.weight.grad.norm())**2 for k, m in
                (('conv1', model.conv1), ('conv2', model.conv2))}
    for wrapper in wrappers.values():
        wrapper.step()
    task = {k: v[0] for k, v in hook._grad_sq.items()}
    assert task == pytest.approx(expected, rel=1e-6)
    hook.after_train(FakeRunner)
    for wrapper in wrappers.values():
        assert len(wrapper.optimizer._optimizer_step_pre_hooks) == 1
        assert wrapper.optimizer.eps_l2_step_hook.grad_readers == []
