"""The size caps of every read in ``neuronka.saving``: nothing from a file is inflated or allocated beyond them.

=====================================  ==================  =====================================================
what                                   cap                 checked
=====================================  ==================  =====================================================
``config.json`` (a ``.keras`` member),  64 MiB              the zip member's declared size before inflating, then
an HDF5 ``model_config`` /                                 the bytes counted while inflating; an HDF5 attribute's
``training_config`` attribute                              stored size before it is read
``metadata.json``                      1 MiB               as above
``model.weights.h5`` (a ``.keras``      16 GiB              declared size before inflating, counted while
member), a ``.weights.npz`` archive                        inflating; a deflated member may not declare more than
                                                           1100 × its compressed size (DEFLATE's limit is 1032 ×)
one array of a ``.weights.npz``        its stored bytes    the ``.npy`` header's shape × itemsize must equal the
                                                           bytes stored after the header, before any allocation
one HDF5 dataset                       the variable it     its declared shape must equal the target variable's
                                       fills               shape before it is read, so decompressing a chunked /
                                                           gzip dataset never yields more than the model holds
names lists (``layer_names``,          64 MiB              stored size of the attribute before it is read
``weight_names``)
members of a ``.keras`` archive        10 000              counted before anything is read
=====================================  ==================  =====================================================

The caps are module constants: a program that must read larger files may raise them
(``neuronka.saving.limits.MAX_WEIGHTS_BYTES = ...``) before loading.
"""
from __future__ import annotations

MiB = 1 << 20
GiB = 1 << 30

MAX_CONFIG_BYTES = 64 * MiB
MAX_METADATA_BYTES = 1 * MiB
MAX_WEIGHTS_BYTES = 16 * GiB
MAX_NAMES_BYTES = 64 * MiB
MAX_ARCHIVE_MEMBERS = 10_000
MAX_DEFLATE_RATIO = 1100
