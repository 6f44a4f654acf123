from .toy_shapes import CLASSES, generate_toy_coco

__all__ = ['CLASSES', 'generate_toy_coco']
