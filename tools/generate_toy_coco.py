"""``python tools/generate_toy_coco.py ...`` = ``python -m mmdet_eps_l2.tools.generate_toy_coco ...``
(:mod:`mmdet_eps_l2.tools.generate_toy_coco`, installed with the package)."""
import sys

from mmdet_eps_l2.tools.generate_toy_coco import *  # noqa: F401,F403
from mmdet_eps_l2.tools.generate_toy_coco import main

if __name__ == '__main__':
    sys.exit(main())
