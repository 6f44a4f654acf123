import os.path as osp

from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'mmdet_eps_l2', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmdet_eps_l2',
    version=read_version(),
    description='Weight-standardized convolutions and the epsilon-shifted L2 '
    'regularizer for MMDetection',
    long_description=open(osp.join(osp.dirname(__file__), 'README.md')).read()
    if osp.exists(osp.join(osp.dirname(__file__), 'README.md')) else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=['mmdet_eps_l2', 'mmdet_eps_l2.*']),
    python_requires='>=3.8',
    install_requires=[
        'torch>=2.1',  # torch.compiler.disable, Optimizer.register_step_pre_hook
        'mmengine>=0.7.1,<1.0',
        'mmcv>=2.0.0rc4,<2.2.0',
        'mmdet>=3.0.0,<4.0',
        # 2.0.11: COCO.loadRes evaluates files without a top-level "info"
        'pycocotools>=2.0.11',
    ],
    # orjson: the data check reads large annotation files several times
    # faster (it falls back to json); seaborn / psutil: mmdet's own
    # analyze_logs.py and benchmark.py
    extras_require={
        'tests': ['pytest'],
        'plots': ['matplotlib', 'seaborn'],
        'fast': ['orjson'],
        'analysis': ['seaborn', 'psutil'],
    },
    zip_safe=False,
)
