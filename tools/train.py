"""``python tools/train.py ...`` = ``python -m mmdet_eps_l2.tools.train ...``
(:mod:`mmdet_eps_l2.tools.train`, installed with the package)."""
import sys

from mmdet_eps_l2.tools.train import *  # noqa: F401,F403
from mmdet_eps_l2.tools.train import main

if __name__ == '__main__':
    sys.exit(main())
