"""The examples of README.md and docs/*.md, run as a reader would run them.

The code blocks are read from the documents themselves (found by a line they
contain), so a test fails when a document's example stops working."""
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
README = osp.join(ROOT, 'README.md')
DOCS = osp.join(ROOT, 'docs')
PLUGIN = osp.join(ROOT, 'configs', '_base_', 'eps-l2_plugin.py')
#: documents written elsewhere: linked, not checked here
NOT_CHECKED = {'docs/gpu_check.md'}


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def code_blocks(path, lang=None):
    """The fenced code blocks of a Markdown file, in order."""
    blocks = re.findall(r'^```(\w*)\n(.*?)^```', read(path), re.M | re.S)
    return [body for tag, body in blocks if lang is None or tag == lang]


def block_with(path, marker, lang='python'):
    """The one code block of ``path`` that contains ``marker``."""
    found = [b for b in code_blocks(path, lang) if marker in b]
    assert len(found) == 1, f'{marker!r}: {len(found)} blocks in {path}'
    return found[0]


# ----------------------------------------------------------------- README
def test_readme_has_the_sections_of_an_mmdet_project_and_the_citation():
    text = read(README)
    headings = re.findall(r'^## (.+)$', text, re.M)
    assert headings == ['Description', 'Installation', 'Usage', 'Results',
                        'Citation', 'Checklist']
    assert 'arXiv:1911.05920' in text
    # arXiv 1911.05920's authors
    assert 'author={Li, Xiang and Chen, Shuo and Xia, Yan and Yang, Jian}' \
        in text


def test_local_links_of_the_documents_exist():
    docs = [README] + [osp.join(DOCS, f) for f in sorted(os.listdir(DOCS))
                       if f.endswith('.md')]
    for doc in docs:
        for target in re.findall(r'\]\(([^)\s]+)\)', read(doc)):
            if re.match(r'[a-z]+://', target) or target.startswith('#'):
                continue
            path = osp.normpath(osp.join(osp.dirname(doc),
                                         target.split('#')[0]))
            if osp.relpath(path, ROOT) in NOT_CHECKED:
                continue
            assert osp.exists(path), f'{doc}: broken link {target}'


def test_importing_registers_the_four_names_and_the_allow_list():
    import torch
    from mmengine.logging import HistoryBuffer
    from mmengine.registry import RUNNERS

    import mmdet_eps_l2  # noqa: F401
    from mmdet.registry import HOOKS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
    assert MODELS.get('WSConv2d') is not None
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(
        'EpsShiftedL2OptimWrapperConstructor') is not None
    assert HOOKS.get('WeightStatsHook') is not None
    assert HOOKS.get('RNGStateHook') is not None
    assert RUNNERS.get('CheckedRunner') is None  # the user's runner stays
    assert HistoryBuffer in torch.serialization.get_safe_globals()


def test_readme_pure_python_example_changes_what_it_says(tmp_path):
    block = block_with(README, 'mask_rcnn_r50_fpn_gn_ws_all_eps_l2_2x_coco')
    path = tmp_path / 'my_detector.py'
    path.write_text(block)
    cfg = Config.fromfile(str(path))
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    assert cfg.model.roi_head.mask_head.num_classes == 3
    assert cfg.optim_wrapper.paramwise_cfg.eps_l2.eps == 2e-3
    assert cfg.optim_wrapper.constructor.__name__ == \
        'EpsShiftedL2OptimWrapperConstructor'


def _offline_recipe(tmp_path, frozen_stages=None):
    """The README's recipe with its offline note applied."""
    block = block_with(README, "checkpoint='open-mmlab://jhu/resnet101_gn_ws'")
    block = block.replace("'path/to/mmdet-eps-l2/configs/_base_/eps-l2_plugin.py'",
                          repr(PLUGIN))
    pretrained = re.search(r"init_cfg=dict\(type='Pretrained',.*?\)\)",
                           block, re.S)
    assert pretrained, 'the recipe has no Pretrained init_cfg'
    offline = 'init_cfg=None' + (f', frozen_stages={frozen_stages})'
                                 if frozen_stages is not None else ')')
    block = block.replace(pretrained.group(0), offline)
    path = tmp_path / f'recipe_{frozen_stages}.py'
    path.write_text(block)
    return Config.fromfile(str(path))


def test_readme_any_detector_recipe_keeps_the_detectors_hooks(tmp_path):
    block = block_with(README, 'rtmdet_tiny_8xb32-300e_coco.py')
    block = block.replace("'path/to/mmdet-eps-l2/configs/_base_/eps-l2_plugin.py'",
                          repr(PLUGIN))
    path = tmp_path / 'rtmdet_eps_l2.py'
    path.write_text(block)
    cfg = Config.fromfile(str(path))
    assert [h['type'] for h in cfg.custom_hooks] == [
        'EMAHook', 'PipelineSwitchHook', 'WeightStatsHook', 'RNGStateHook']
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.paramwise_cfg.eps_l2 == dict(eps=1e-3)
    assert cfg.model.backbone.conv_cfg == dict(type='WSConv2d')


def test_readme_offline_recipe_note_on_frozen_stages(tmp_path, monkeypatch):
    from mmdet_eps_l2.checks import check_config, check_data
    text = read(README)
    assert 'init_cfg=None' in text and 'frozen_stages=-1' in text
    # mmdet's COCO paths, present (empty) so that only the notes remain
    monkeypatch.chdir(tmp_path)
    ann = tmp_path / 'data' / 'coco' / 'annotations'
    ann.mkdir(parents=True)
    for split in ('train2017', 'val2017'):
        (ann / f'instances_{split}.json').write_text('{}')
    as_is = _offline_recipe(tmp_path)
    assert as_is.model.backbone.frozen_stages == 1  # mmdet's ResNet default
    check_config(as_is)
    notes = check_data(as_is, 'train', inspect_data=False)
    assert any('frozen_stages=1' in n and 'frozen_stages=-1' in n
               for n in notes), notes
    fixed = _offline_recipe(tmp_path, frozen_stages=-1)
    check_config(fixed)
    assert not any('frozen_stages' in n for n in
                   check_data(fixed, 'train', inspect_data=False))


@pytest.fixture(scope='module')
def coco_layout_root(tmp_path_factory):
    """Generated data in mmdet's COCO layout (data/coco/, COCO's 80
    categories, the shapes drawn as person, car and dog)."""
    from toy_shapes import generate_toy_coco
    root = tmp_path_factory.mktemp('coco_layout')
    generate_toy_coco(str(root / 'data' / 'coco'), num_train=4, num_val=2,
                      image_size=96, seed=0, coco_layout=True)
    return root


@pytest.mark.parametrize('marker', [
    'rtmdet_tiny_8xb32-300e_coco.py',
    "checkpoint='open-mmlab://jhu/resnet101_gn_ws'",
    'mask_rcnn_r50_fpn_gn_ws_all_eps_l2_2x_coco',
])
def test_readme_config_snippets_pass_the_check_as_written(
        coco_layout_root, monkeypatch, marker, capsys):
    """Each config snippet of the README, as written (the plugin's path
    filled in), passes the check of the config, the model it builds and
    the data, on data of the classes it names."""
    from mmdet_eps_l2.checks import check_config, check_data
    block = block_with(README, marker).replace(
        "'path/to/mmdet-eps-l2/configs/_base_/eps-l2_plugin.py'",
        repr(PLUGIN))
    monkeypatch.chdir(coco_layout_root)
    path = coco_layout_root / 'snippet.py'
    path.write_text(block)
    cfg = Config.fromfile(str(path))
    notes = check_config(cfg) + check_data(cfg, 'train')
    print(notes)


# ------------------------------------------------ docs/own_data.md: pipelines
OWN_DATA = osp.join(DOCS, 'own_data.md')


def _resize_scales(cfg):
    return [tuple(t['scale']) for t in cfg.train_dataloader.dataset.pipeline
            if 'scale' in t]


def test_pipeline_rebuilt_as_the_docs_show_takes_effect(tmp_path):
    block = block_with(OWN_DATA, '# my_toy_192.py')
    assert 'read_base' in block and \
        'mmdet_eps_l2.configs.toy.mask_rcnn_r18_c32_fpn_c64_gn_ws_all_eps_l2_toy_shapes' \
        in block
    path = tmp_path / 'my_toy_192.py'
    path.write_text(block)
    cfg = Config.fromfile(str(path))
    assert _resize_scales(cfg) == [(192, 192)]


def test_pipeline_edit_by_name_comparison_silently_does_nothing(tmp_path):
    rebuilt = block_with(OWN_DATA, '# my_toy_192.py')
    header = rebuilt[:rebuilt.index('train_dataloader.dataset.pipeline =')]
    trap = block_with(OWN_DATA, "t['type'].__name__ == 'Resize'")
    path = tmp_path / 'trap.py'
    path.write_text(header + trap)
    cfg = Config.fromfile(str(path))
    assert _resize_scales(cfg) == [(128, 128)]  # the toy base's, unchanged


# ----------------------------------- docs/own_data.md: mmdet's analyze_logs
def analyze_logs_script():
    import mmdet
    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools',
                    'analysis_tools', 'analyze_logs.py')


def write_scalars(path, evaluations=1):
    """A few lines of an iteration-based run's ``vis_data/scalars.json`` as
    mmengine writes them: training lines, WeightStatsHook lines and COCO
    metric lines (at the end of each ``40 // evaluations`` iterations)."""
    lines = []
    every = 40 // evaluations
    for it in range(10, 41, 10):
        lines.append(dict(lr=0.04 * it / 40, data_time=0.01,
                          loss=3.0 - it / 20, loss_rpn_cls=0.5,
                          loss_bbox=0.4, loss_mask=0.6, time=1.2, iter=it,
                          memory=0, step=it))
        lines.append({'ws/neck/sigma_min': 0.03, 'ws/neck/sigma_median': 0.04,
                      'ws/neck/eff_lr_median': 2.7,
                      'weight_stats_hook/time_s': 0.02, 'step': it})
        if it % every == 0:
            lines.append({'coco/bbox_mAP': 0.4 + it / 1000,
                          'coco/bbox_mAP_50': 0.7, 'coco/segm_mAP': 0.42,
                          'data_time': 0.01, 'time': 0.5, 'step': it})
    path.write_text(''.join(json.dumps(line) + '\n' for line in lines))
    return str(path)


def run_analyze_logs(args, cwd):
    env = dict(os.environ, MPLBACKEND='Agg')
    return subprocess.run([sys.executable, analyze_logs_script()] + args,
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def docs_plot_commands():
    """The ``analyze_logs.py plot_curve`` lines of docs/own_data.md."""
    block = block_with(OWN_DATA, '$ANALYZE plot_curve', lang='bash')
    return [shlex.split(line) for line in block.splitlines()
            if '$ANALYZE plot_curve' in line]


@pytest.mark.slow
def test_docs_analyze_logs_commands_write_the_plots(tmp_path):
    scalars = write_scalars(tmp_path / 'scalars.json')
    commands = docs_plot_commands()
    assert [c[c.index('--keys') + 1] for c in commands] == ['loss',
                                                            'bbox_mAP']
    for command in commands:
        assert command[:3] == ['python', '$ANALYZE', 'plot_curve']
        args = command[2:]
        args[1] = scalars  # work_dirs/toy/*/vis_data/scalars.json
        out = args[args.index('--out') + 1]
        result = run_analyze_logs(args, tmp_path)
        assert result.returncode == 0, result.stderr
        png = tmp_path / out
        assert png.is_file() and png.stat().st_size > 0
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


@pytest.mark.slow
def test_analyze_logs_wants_the_last_part_of_the_metric_name(tmp_path):
    scalars = write_scalars(tmp_path / 'scalars.json')
    result = run_analyze_logs(['plot_curve', scalars, '--keys',
                               'coco/bbox_mAP', '--out', 'x.png'], tmp_path)
    assert result.returncode != 0
    assert 'does not contain metric coco/bbox_mAP' in result.stderr
    assert not (tmp_path / 'x.png').exists()


@pytest.mark.slow
def test_analyze_logs_cannot_plot_map_of_several_evaluations_by_iteration(
        tmp_path):
    # what docs/own_data.md says of iteration-based runs
    scalars = write_scalars(tmp_path / 'scalars.json', evaluations=2)
    result = run_analyze_logs(['plot_curve', scalars, '--keys', 'bbox_mAP',
                               '--out', 'x.png'], tmp_path)
    assert result.returncode != 0
    assert 'x and y must have same first dimension' in result.stderr
