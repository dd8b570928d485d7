"""neuronka: a deep-learning framework written from scratch on NumPy, with Keras 3's API."""
from . import ops
from .autograd import Function, Tensor, as_tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .backend import asnumpy, floatx, get_array_module, set_floatx
from .gradcheck import gradcheck

__version__ = "0.1.0"
