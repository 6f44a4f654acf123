"""``python tools/test.py ...`` = ``python -m mmdet_eps_l2.tools.test ...``
(:mod:`mmdet_eps_l2.tools.test`, installed with the package)."""
import sys

from mmdet_eps_l2.tools.test import *  # noqa: F401,F403
from mmdet_eps_l2.tools.test import main

if __name__ == '__main__':
    sys.exit(main())
