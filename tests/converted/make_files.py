"""Write the converted files of this folder (see README.md).

    python -m mmdet_eps_l2.tools.generate_toy_coco TOY --train 8 --val 2 \
        --size 96
    python tests/converted/make_files.py TOY WORK OUT
        (with the converters installed: README.md)

Exports the toy train split as a labelling tool exports it (YOLO: class
indices in the categories' order and a data.yaml; Pascal VOC: 1-based
integer corners, one XML per image; LabelMe: one JSON of polygons per
image) under WORK, converts each export back to COCO with supervision,
globox, labelme2coco, datumaro and pylabel, and writes the results to OUT
as TOOL-FORMAT.json (paths under WORK made relative).  Needs those
packages, not this project's.
"""
import glob
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
from xml.etree import ElementTree as ET


def export(toy: str, work: str) -> list:
    """YOLO, VOC and LabelMe exports of ``toy``'s train split under
    ``work``; returns the category names in the file's order."""
    with open(osp.join(toy, 'annotations', 'instances_train.json')) as f:
        data = json.load(f)
    names = [c['name'] for c in data['categories']]
    name_of = {c['id']: c['name'] for c in data['categories']}
    by_image = {}
    for a in data['annotations']:
        by_image.setdefault(a['image_id'], []).append(a)
    for sub in ('yolo/images', 'yolo/labels', 'voc/JPEGImages',
                'voc/Annotations', 'labelme'):
        os.makedirs(osp.join(work, sub))
    with open(osp.join(work, 'yolo', 'data.yaml'), 'w') as f:
        f.write(f'nc: {len(names)}\nnames: {json.dumps(names)}\n'
                'train: images\nval: images\n')
    for img in data['images']:
        width, height, file = img['width'], img['height'], img['file_name']
        stem = osp.splitext(file)[0]
        for folder in ('yolo/images', 'voc/JPEGImages', 'labelme'):
            shutil.copy(osp.join(toy, 'train', file),
                        osp.join(work, folder, file))
        lines, shapes = [], []
        voc = ET.Element('annotation')
        ET.SubElement(voc, 'folder').text = 'JPEGImages'
        ET.SubElement(voc, 'filename').text = file
        size = ET.SubElement(voc, 'size')
        for key, value in (('width', width), ('height', height),
                           ('depth', 3)):
            ET.SubElement(size, key).text = str(value)
        for a in by_image.get(img['id'], []):
            x, y, w, h = a['bbox']
            name = name_of[a['category_id']]
            lines.append(f'{names.index(name)} {(x + w / 2) / width:.6f} '
                         f'{(y + h / 2) / height:.6f} {w / width:.6f} '
                         f'{h / height:.6f}')
            obj = ET.SubElement(voc, 'object')
            ET.SubElement(obj, 'name').text = name
            ET.SubElement(obj, 'difficult').text = '0'
            ET.SubElement(obj, 'truncated').text = '0'
            box = ET.SubElement(obj, 'bndbox')
            for key, value in (('xmin', round(x) + 1), ('ymin', round(y) + 1),
                               ('xmax', round(x + w)),
                               ('ymax', round(y + h))):
                ET.SubElement(box, key).text = str(value)
            poly = a['segmentation'][0]
            shapes.append(dict(
                label=name, points=[poly[i:i + 2]
                                    for i in range(0, len(poly), 2)],
                group_id=None, shape_type='polygon', flags={}))
        with open(osp.join(work, 'yolo', 'labels', f'{stem}.txt'), 'w') as f:
            f.write(''.join(line + '\n' for line in lines))
        ET.ElementTree(voc).write(
            osp.join(work, 'voc', 'Annotations', f'{stem}.xml'))
        with open(osp.join(work, 'labelme', f'{stem}.json'), 'w') as f:
            json.dump(dict(version='5.4.1', flags={}, shapes=shapes,
                           imagePath=file, imageData=None,
                           imageHeight=height, imageWidth=width), f)
    return names


def converters(work: str, names: list) -> dict:
    """TOOL-FORMAT -> a function writing that conversion to a path."""
    yolo, voc, labelme = (osp.join(work, f) for f in ('yolo', 'voc',
                                                      'labelme'))

    def supervision_yolo(out):
        import supervision as sv
        sv.DetectionDataset.from_yolo(
            f'{yolo}/images', f'{yolo}/labels', f'{yolo}/data.yaml'
        ).as_coco(annotations_path=out)

    def supervision_voc(out):
        import supervision as sv
        sv.DetectionDataset.from_pascal_voc(
            f'{voc}/JPEGImages', f'{voc}/Annotations'
        ).as_coco(annotations_path=out)

    def supervision_labelme(out):
        import supervision as sv
        sv.DetectionDataset.from_labelme(labelme, labelme).as_coco(
            annotations_path=out)

    def globox_yolo(out):
        from globox import AnnotationSet
        AnnotationSet.from_yolo_v5(
            f'{yolo}/labels', image_folder=f'{yolo}/images',
            image_extension='.png').map_labels(
                {str(i): n for i, n in enumerate(names)}).save_coco(
                    out, auto_ids=True)

    def globox_voc(out):
        from globox import AnnotationSet
        AnnotationSet.from_pascal_voc(f'{voc}/Annotations').save_coco(
            out, auto_ids=True)

    def globox_labelme(out):
        from globox import AnnotationSet
        AnnotationSet.from_labelme(labelme, include_poly=True).save_coco(
            out, auto_ids=True)

    def labelme2coco_labelme(out):
        import labelme2coco
        folder = tempfile.mkdtemp()
        labelme2coco.convert(labelme, folder)
        shutil.copy(glob.glob(f'{folder}/*.json')[0], out)

    def datumaro_yolo(out, **export):
        import datumaro as dm
        source = tempfile.mkdtemp()  # datumaro's YOLO 1.1 layout
        os.makedirs(f'{source}/obj_train_data')
        for f in glob.glob(f'{yolo}/images/*') + glob.glob(
                f'{yolo}/labels/*'):
            shutil.copy(f, f'{source}/obj_train_data/')
        with open(f'{source}/obj.names', 'w') as f:
            f.write(''.join(n + '\n' for n in names))
        with open(f'{source}/obj.data', 'w') as f:
            f.write(f'classes = {len(names)}\ntrain = data/train.txt\n'
                    'names = data/obj.names\n')
        with open(f'{source}/train.txt', 'w') as f:
            f.write(''.join(f'data/obj_train_data/{osp.basename(p)}\n'
                            for p in sorted(glob.glob(f'{yolo}/images/*'))))
        target = tempfile.mkdtemp()
        dm.Dataset.import_from(source, 'yolo').export(
            target, 'coco_instances', **export)
        shutil.copy(glob.glob(f'{target}/annotations/*.json')[0], out)

    def datumaro_voc(out, **export):
        import datumaro as dm
        source = tempfile.mkdtemp()
        shutil.copytree(f'{voc}/Annotations', f'{source}/Annotations')
        shutil.copytree(f'{voc}/JPEGImages', f'{source}/JPEGImages')
        os.makedirs(f'{source}/ImageSets/Main')
        # labelmap.txt as CVAT writes it with a VOC export (datumaro reads
        # labels other than VOC's 20 from it)
        colours = ('250,50,83', '61,61,245', '51,221,255')
        with open(f'{source}/labelmap.txt', 'w') as f:
            f.write('# label:color_rgb:parts:actions\nbackground:0,0,0::\n' +
                    ''.join(f'{n}:{c}::\n' for n, c in zip(names, colours)))
        with open(f'{source}/ImageSets/Main/train.txt', 'w') as f:
            f.write(''.join(osp.splitext(osp.basename(p))[0] + '\n' for p in
                            sorted(glob.glob(f'{voc}/Annotations/*'))))
        target = tempfile.mkdtemp()
        dm.Dataset.import_from(source, 'voc_detection').export(
            target, 'coco_instances', **export)
        shutil.copy(glob.glob(f'{target}/annotations/*.json')[0], out)

    def pylabel_yolo(out):
        from pylabel import importer
        importer.ImportYoloV5(
            f'{yolo}/labels', img_ext='png', cat_names=names,
            path_to_images=f'{yolo}/images').export.ExportToCoco(
                output_path=out)

    def pylabel_voc(out):
        from pylabel import importer
        importer.ImportVOC(
            f'{voc}/Annotations', path_to_images=f'{voc}/JPEGImages'
        ).export.ExportToCoco(output_path=out)

    return {
        'supervision-yolo': supervision_yolo,
        'supervision-voc': supervision_voc,
        'supervision-labelme': supervision_labelme,
        'globox-yolo': globox_yolo,
        'globox-voc': globox_voc,
        'globox-labelme': globox_labelme,
        'labelme2coco-labelme': labelme2coco_labelme,
        'datumaro-yolo': datumaro_yolo,
        'datumaro-voc': datumaro_voc,
        'datumaro-yolo-reindex': lambda out: datumaro_yolo(out, reindex=True),
        'datumaro-voc-reindex': lambda out: datumaro_voc(out, reindex=True),
        'pylabel-yolo': pylabel_yolo,
        'pylabel-voc': pylabel_voc,
    }


def main(toy: str, work: str, out: str) -> None:
    names = export(toy, work)
    os.makedirs(out, exist_ok=True)
    prefix = osp.abspath(work) + os.sep
    for name, convert in converters(work, names).items():
        path = osp.join(out, f'{name}.json')
        convert(path)
        with open(path) as f:
            text = f.read().replace(prefix, '')
        with open(path, 'w') as f:
            f.write(text)
        print(name, [c['name'] for c in json.loads(text)['categories']])


if __name__ == '__main__':
    main(*sys.argv[1:4])
