from .vit_feature_pyramid import LayerNorm2d, ViTFeaturePyramid

__all__ = ['LayerNorm2d', 'ViTFeaturePyramid']
