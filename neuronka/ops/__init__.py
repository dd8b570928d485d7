"""``neuronka.ops``: differentiable operations under ``keras.ops`` names.

Where the math lives: elementwise, reductions and matmul in :mod:`.math`, reshape / concatenate / pad / where
and the other shape ops in :mod:`.shapes` (re-exported by :mod:`.math`); activations in :mod:`.activations`;
losses in :mod:`.losses`; batch / layer normalization in :mod:`.normalization`; dropout and other random masks
in :mod:`.random`; LSTM / GRU / SimpleRNN over whole sequences in :mod:`.recurrent` (their in-place
activations in :mod:`.recurrent_activations`); convolutions in :mod:`.convolution` (the entry points and the
table of which algorithm runs when; checks and geometry in :mod:`.conv_args`, the algorithms in
:mod:`.conv_im2col`, :mod:`.conv_shifted`, :mod:`.conv_direct`, :mod:`.conv_depthwise`; the worker pool in
:mod:`.threads`); pooling in :mod:`.pooling`; resizing in :mod:`.image` (``keras.ops.image``); the compiled
fused kernels some of them use in :mod:`.kernels`.
The rest of ``keras.ops``: elementwise math in
:mod:`.elementwise`, array creation in :mod:`.creation`, reductions in :mod:`.reduction`, rearranging in
:mod:`.manipulation`, sorting and indexing in :mod:`.indexing`, other ``keras.ops.nn`` ops in :mod:`.nn`,
linear algebra in :mod:`.linalg`, Fourier transforms in :mod:`.signal`, conversion and control flow in
:mod:`.core`. Each of those modules lists its public names in ``__all__``; a name defined in one of them
replaces an older definition imported above it here.
"""
from . import image
from .activations import (
    elu,
    gelu,
    hard_sigmoid,
    leaky_relu,
    linear,
    log_softmax,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    swish,
    tanh,
)
from .convolution import conv, conv_transpose, depthwise_conv

# the modules of the rest of keras.ops (each exports exactly its __all__)
from .losses import binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy
from .math import (
    abs,
    absolute,
    add,
    cast,
    clip,
    concatenate,
    divide,
    dot,
    exp,
    expand_dims,
    getitem,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    pad,
    power,
    reshape,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    subtract,
    sum,
    take,
    take_along_last,
    transpose,
    var,
    where,
)
from .normalization import batch_norm_train, batch_normalization, layer_normalization, moments, normalize
from .pooling import average_pool, global_average_pool, global_max_pool, max_pool
from .random import dropout
from .recurrent import gru, lstm, simple_rnn

# isort: off
# The modules of the rest of keras.ops, last, so that their definitions replace older ones above
# (each exports exactly its __all__).
from .core import *  # noqa: E402, F403
from .creation import *  # noqa: E402, F403
from .elementwise import *  # noqa: E402, F403
from .exponential import *  # noqa: E402, F403
from .trigonometric import *  # noqa: E402, F403
from .special import *  # noqa: E402, F403
from .comparison import *  # noqa: E402, F403
from .bitwise import *  # noqa: E402, F403
from .indexing import *  # noqa: E402, F403
from .linalg import *  # noqa: E402, F403
from .manipulation import *  # noqa: E402, F403
from .nn import *  # noqa: E402, F403
from .products import *  # noqa: E402, F403
from .reduction import *  # noqa: E402, F403
from .signal import *  # noqa: E402, F403
# isort: on

__all__ = [name for name in dir() if not name.startswith("_")]


def _wrap_public_functions(namespace: dict, names) -> None:
    """Make every public function of a namespace accept symbolic tensors (functional models)."""
    import types as _types

    from ._util import symbolic_dispatch

    for name in names:
        fn = namespace.get(name)
        if isinstance(fn, _types.FunctionType) and not getattr(fn, "_symbolic_dispatch", False):
            namespace[name] = symbolic_dispatch(fn)


_wrap_public_functions(globals(), __all__)


def _build_namespaces() -> None:
    """``neuronka.ops.numpy`` (a module made here), ``.nn`` and ``.linalg`` (the modules of those names,
    completed) hold Keras's groups of the public names above, the same function objects."""
    import sys as _sys
    import types as _types

    from . import _namespaces as _groups

    here = globals()
    made = _types.ModuleType(__name__ + ".numpy", "keras.ops.numpy: the NumPy-like ops of neuronka.ops")
    _sys.modules[made.__name__] = made
    here["numpy"] = made
    for module, names in ((made, _groups.NUMPY), (here["nn"], _groups.NN), (here["linalg"], _groups.LINALG)):
        for name in names:
            if name in here and not isinstance(here[name], _types.ModuleType):
                setattr(module, name, here[name])
    _wrap_public_functions(vars(image), _groups.IMAGE)  # keras.ops.image.* on symbolic tensors too


_build_namespaces()
