"""Each data defect through tools/train.py: refused before a work dir
exists (non-zero exit, a message naming the file, the entry and the rule,
no traceback), or trained with a one-line note; and what mmdet's own parse
does with it."""
import json

import pytest

import train
from helpers.toy import TOY_MASK_RCNN, short_run_options
from toy_shapes import generate_toy_coco


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / 'toy'
    generate_toy_coco(str(root), num_train=3, num_val=2, image_size=64,
                      seed=0)
    return root


def _edit(root, split, edit):
    path = root / 'annotations' / f'instances_{split}.json'
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return path


def _refusal(toy, tmp_path, *options, capsys=None):
    """train.py on the toy config and data; the SystemExit message."""
    work_dir = tmp_path / 'work'
    with pytest.raises(SystemExit) as e:
        train.main([TOY_MASK_RCNN, '--work-dir', str(work_dir),
                    '--cfg-options', f'data_root={toy}/', *options])
    assert not work_dir.exists()
    message = str(e.value)
    assert message.startswith(f'train: {TOY_MASK_RCNN}: config check '
                              'failed:'), message
    return message


def _rle(size):
    from pycocotools import mask as mask_utils
    import numpy as np
    m = np.zeros(size, np.uint8, order='F')
    m[2:6, 2:6] = 1
    rle = mask_utils.encode(m)
    return dict(size=list(rle['size']), counts=rle['counts'].decode())


def _image_entries_repeated(data):
    data['images'][1]['id'] = data['images'][0]['id']


def _category_id_as_string(data):
    data['annotations'][0]['category_id'] = str(
        data['annotations'][0]['category_id'])


def _iscrowd_as_string(data):
    data['annotations'][0]['iscrowd'] = '0'


def _crowd_rle_of_another_size(data):
    ann = data['annotations'][0]
    ann.update(iscrowd=1, segmentation=_rle((32, 32)))


def _declared_size_not_the_files(data):
    data['images'][0].update(width=80, height=72)


DEFECTS = [
    ('val', _image_entries_repeated, 'instances_val.json: 1 images entries, '
     'e.g. images[1] repeat the id of an earlier entry (images[1] and '
     "images[0] have id 1): pycocotools' COCO index keeps one entry per id"),
    ('train', _category_id_as_string, 'instances_train.json: 1 annotations '
     'entries, e.g. annotations[0] have a "category_id" of another type than '
     "the ids of the categories (found '2', a str; the ids are int)"),
    ('train', _iscrowd_as_string, 'instances_train.json: 1 annotations '
     'entries, e.g. annotations[0] have an "iscrowd" that is not 0, 1, true '
     "or false (found '0'; mmdet tests it for truth, so '0' counts as True)"),
    ('train', _crowd_rle_of_another_size, 'train_dataloader.dataset: 1 '
     'annotations of {root}/annotations/instances_train.json, e.g. '
     'annotations[0], have an RLE segmentation whose "size" is not its '
     "image's [height, width]"),
    ('val', lambda d: d.update(images=[], annotations=[]),
     'instances_val.json: "images" is empty (expected at least one image)'),
]


@pytest.mark.parametrize('split, edit, message', DEFECTS,
                         ids=[d[1].__name__ if d[1].__name__ != '<lambda>'
                              else 'empty_val_images' for d in DEFECTS])
def test_a_defect_is_refused_before_a_work_dir(toy, tmp_path, split, edit,
                                               message):
    _edit(toy, split, edit)
    assert message.format(root=toy) in _refusal(toy, tmp_path)


def test_a_declared_size_other_than_the_images_is_a_note(toy, capsys):
    """mmdet drops boxes by the declared size, builds masks at the decoded
    one; an EXIF orientation swaps the two: trained, with a note."""
    from mmdet_eps_l2.tools.check import main
    _edit(toy, 'train', _declared_size_not_the_files)
    assert main([TOY_MASK_RCNN, '--cfg-options', f'data_root={toy}/']) == 0
    assert (f'check: note: {toy}/annotations/instances_train.json: 1 of 3 '
            'sampled images decode to another size than the file declares, '
            'e.g. images[0] (000001.png) declares 80x72 and decodes to 64x64 '
            '(width x height; swapped: an EXIF orientation): mmdet drops '
            'boxes outside the declared size and builds masks at the decoded '
            'one') in capsys.readouterr().err


def test_a_classes_num_classes_mismatch_is_refused(toy, tmp_path):
    message = _refusal(toy, tmp_path,
                       'model.roi_head.mask_head.num_classes=4')
    assert ('model.roi_head.mask_head.num_classes is 4 but '
            'train_dataloader.dataset has 3 classes') in message


def test_no_trainable_ws_conv_is_refused_from_the_built_model(toy, tmp_path):
    # WS convs in the config, all frozen in the model
    plain = [f'model.{part}.conv_cfg=None' for part in (
        'neck', 'roi_head.bbox_head', 'roi_head.mask_head')]
    message = _refusal(toy, tmp_path, 'model.backbone.frozen_stages=4',
                       *plain)
    assert ('optim_wrapper: paramwise_cfg.eps_l2 is set but the model has '
            'no trainable weight-standardized conv') in message


def test_mmdet_reads_each_refused_defect_otherwise_than_meant(toy):
    """What mmdet 3.3's own parse does with them (why they are refused)."""
    from mmdet.datasets import CocoDataset
    from mmdet.datasets.transforms import LoadAnnotations
    from mmcv.transforms import LoadImageFromFile

    def dataset(split):
        return CocoDataset(
            data_root=f'{toy}/',
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(img=f'{split}/'), filter_cfg=None,
            metainfo=dict(classes=('square', 'circle', 'triangle')),
            pipeline=[LoadImageFromFile(),
                      LoadAnnotations(with_bbox=True, with_mask=True)])

    fine = dataset('train')
    first = fine.get_data_info(0)['instances']
    # a string category id: the annotation is dropped
    _edit(toy, 'train', _category_id_as_string)
    assert len(dataset('train').get_data_info(0)['instances']) == \
        len(first) - 1
    # "0" as iscrowd: the instance is ignored
    _edit(toy, 'train', lambda d: d['annotations'][0].update(category_id=1))
    _edit(toy, 'train', _iscrowd_as_string)
    assert dataset('train').get_data_info(0)['instances'][0][
        'ignore_flag'] == 1
    # a crowd RLE of another size: its mask does not fit the image's
    _edit(toy, 'train', _crowd_rle_of_another_size)
    with pytest.raises(ValueError, match='same shape'):
        dataset('train')[0]
    # repeated image ids in the val file: one image is never loaded
    _edit(toy, 'val', _image_entries_repeated)
    assert len(dataset('val')) == 1


def test_a_file_mmdet_reads_fine_trains_without_a_note(toy, tmp_path,
                                                       capsys):
    """No "info" or "licenses", a crowd RLE of the right size, extra
    keys."""
    def fine(data):
        data.pop('info')
        data.pop('licenses')
        data['annotations'][0].update(iscrowd=1, segmentation=_rle((64, 64)),
                                      source='converter', score=None)
        data['images'][0]['license'] = 3
    _edit(toy, 'train', fine)
    work_dir = tmp_path / 'work'
    assert train.main([TOY_MASK_RCNN, '--work-dir', str(work_dir),
                       '--cfg-options', f'data_root={toy}/'] +
                      short_run_options(1, batch=1, val=False)) == 0
    err = capsys.readouterr().err
    assert 'note:' not in err
    assert 'checked the config, the model and the data of train' in err


def test_own_hooks_without_the_plugins_are_noted(toy, tmp_path, capsys):
    """A user's custom_hooks that replaced the plugin's: trained, with a
    note saying what is lost and the line that keeps both."""
    from mmengine.config import Config

    from mmdet_eps_l2.checks import check_config
    cfg = Config.fromfile(TOY_MASK_RCNN)
    cfg.custom_hooks = [dict(type='EMAHook'), dict(type='WeightStatsHook')]
    cfg.merge_from_dict({'data_root': f'{toy}/'})
    from mmdet_eps_l2.utils import retarget_data_root
    retarget_data_root(cfg, 'data/toy_coco/', f'{toy}/')
    assert check_config(cfg) == [
        'custom_hooks has no RNGStateHook: a resumed run does not continue '
        'the same random numbers; keep your hooks and add '
        "the plugin's with custom_hooks = [*_base_.get('custom_hooks', []), "
        '*_base_.eps_l2_hooks]']


def test_a_model_that_cannot_be_built_is_refused_with_the_reason(toy,
                                                                 tmp_path):
    message = _refusal(toy, tmp_path, 'model.backbone.depth=19')
    assert 'model: cannot be built: KeyError: ' in message
    assert 'invalid depth 19 for resnet' in message


@pytest.mark.parametrize('option,where', [
    ('optim_wrapper.eps_l2.eps=5e-3', 'optim_wrapper.eps_l2'),
    ('optim_wrapper.optimizer.eps_l2.eps=5e-3',
     'optim_wrapper.optimizer.eps_l2'),
    ('eps_l2.eps=5e-3', 'eps_l2'),
])
def test_a_misplaced_eps_l2_is_refused_naming_its_place(toy, tmp_path,
                                                        option, where):
    message = _refusal(toy, tmp_path, option)
    assert f'  - {where}: eps_l2 belongs in optim_wrapper.paramwise_cfg.' \
        'eps_l2 (e.g. --cfg-options optim_wrapper.paramwise_cfg.eps_l2.' \
        'eps=1e-3)' in message


def test_an_unknown_key_in_eps_l2_is_refused(toy, tmp_path):
    message = _refusal(toy, tmp_path,
                       'optim_wrapper.paramwise_cfg.eps_l2.epsilon=5e-3')
    assert "optim_wrapper.paramwise_cfg.eps_l2: unknown key(s) ['epsilon']" \
        in message


@pytest.mark.parametrize('options,where,name', [
    (['runner_type=FlexibleRunner', 'strategy.type=FSDPStrategy'],
     'strategy', 'FSDPStrategy'),
    (['runner_type=FlexibleRunner', 'strategy.type=DeepSpeedStrategy'],
     'strategy', 'DeepSpeedStrategy'),
    (['model_wrapper_cfg.type=MMFullyShardedDataParallel'],
     'model_wrapper_cfg', 'MMFullyShardedDataParallel'),
])
def test_sharding_strategies_are_refused_naming_ddp(toy, tmp_path, options,
                                                    where, name):
    message = _refusal(toy, tmp_path, *options)
    assert f"  - {where}.type is '{name}', which flattens or shards " \
        'parameters' in message
    assert "Train with DDP: strategy=dict(type='DDPStrategy')" in message


def test_a_flattened_ws_weight_is_refused_by_the_constructor():
    """What FSDP makes of a weight: the plugin names it, no IndexError."""
    import torch
    import torch.nn as nn

    from mmdet_eps_l2.models import WSConv2d
    from mmdet_eps_l2.optim import EpsShiftedL2OptimWrapperConstructor
    model = nn.Sequential(WSConv2d(4, 8, 3))
    model[0].weight = nn.Parameter(torch.zeros(8 * 4 * 9))
    with pytest.raises(ValueError, match=r'0 \(WSConv2d\) holds a weight of '
                       r'shape \(288,\), not whole filters .* Train with DDP'):
        EpsShiftedL2OptimWrapperConstructor(
            dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4)),
            dict(eps_l2=dict(eps=1e-3)))(model)


def test_efficient_conv_bn_eval_with_ws_convs_is_refused(toy, tmp_path):
    message = _refusal(toy, tmp_path,
                       'model.backbone.efficient_conv_bn_eval=True')
    assert '  - model.backbone.efficient_conv_bn_eval=True: mmcv computes ' \
        'conv + BN in eval mode from the raw conv weight' in message


def test_a_top_level_paramwise_cfg_is_refused(toy, tmp_path):
    message = _refusal(toy, tmp_path, 'paramwise_cfg.eps_l2.eps=5e-3')
    assert '  - paramwise_cfg: eps_l2 belongs in optim_wrapper.paramwise_cfg' \
        in message


def test_a_strategy_the_runner_does_not_read_is_not_refused():
    """mmengine's Runner reads model_wrapper_cfg, not strategy."""
    from mmengine.config import Config

    from mmdet_eps_l2.checks.config import _check_sharding
    cfg = Config.fromfile(TOY_MASK_RCNN)
    cfg.strategy = dict(type='FSDPStrategy')
    assert _check_sharding(cfg) == []
    cfg.runner_type = 'FlexibleRunner'
    assert len(_check_sharding(cfg)) == 1
