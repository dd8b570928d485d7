"""``keras.applications.resnet50``: Keras's older home of ResNet50, the same objects as in :mod:`.resnet`."""
from .resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
