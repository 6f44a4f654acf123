"""The toy-shapes generator (:mod:`mmdet_eps_l2.tools.toy_shapes`)."""
from mmdet_eps_l2.tools.toy_shapes import *  # noqa: F401,F403
