import os.path as osp
import sys

import pytest
from mmengine.registry import init_default_scope

import mmdet_eps_l2  # noqa: F401  (registers the plugin)

# the tools (tools/*.py: train, fold_ws, toy_shapes, ...) import as modules
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'tools'))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` are skipped where torch sees no GPU."""
    import torch
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a GPU (torch.cuda.is_available())')
    for item in items:
        if item.get_closest_marker('cuda') is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Registry look-ups behave as under mmdet's tools."""
    init_default_scope('mmdet')
    yield


@pytest.fixture(scope='session')
def toy_root(tmp_path_factory):
    """A directory holding data/toy_coco (16 train, 6 val images): the
    toy configs' relative data_root resolves when it is the cwd."""
    from toy_shapes import generate_toy_coco
    root = tmp_path_factory.mktemp('toy')
    generate_toy_coco(str(root / 'data' / 'toy_coco'), num_train=16,
                      num_val=6, image_size=128, seed=0)
    return root


@pytest.fixture
def in_toy_root(toy_root, monkeypatch):
    monkeypatch.chdir(toy_root)
    return toy_root
