import pytest
from mmengine.registry import init_default_scope

import mmdet_eps_l2  # noqa: F401  (registers the plugin)


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Registry look-ups behave as under mmdet's tools."""
    init_default_scope('mmdet')
    yield
