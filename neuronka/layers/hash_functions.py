"""The string hashes behind Keras's hashing layers, bit for bit, vectorized with NumPy.

Keras's ``Hashing``, ``HashedCrossing`` and the out-of-vocabulary buckets of ``StringLookup`` /
``IntegerLookup`` hash with TensorFlow's string ops; those ops use three functions, written here from their
published definitions:

- :func:`fingerprint64` — Google's FarmHash ``Fingerprint64`` (the ``farmhashna::Hash64`` variant), what
  ``tf.strings.to_hash_bucket_fast`` computes: bucket = fingerprint64(s) mod num_buckets;
- :func:`siphash64` — SipHash-2-4 keyed by two 64-bit integers (Keras's ``salt``), what
  ``tf.strings.to_hash_bucket_strong`` computes: bucket = siphash(key, s) mod num_buckets;
- :func:`fingerprint_cat64` — the mix that ``tf.sparse.cross_hashed`` uses to combine the hashes of crossed
  features: h ← cat(h, f_i) for each feature, starting from h = :data:`CROSS_HASH_KEY`.

All arithmetic is on uint64 arrays (wrapping mod 2⁶⁴, as in C). The control flow of both hashes depends only on
the length of the string, so strings are grouped by length and each group is hashed at once on a (n, length)
byte matrix: one pass of NumPy operations per distinct length, whatever the number of strings.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy

U64 = numpy.uint64
_K0 = U64(0xC3A5C85C97CB3127)
_K1 = U64(0xB492B66FBE98F273)
_K2 = U64(0x9AE16A3B2F90404F)
_KMUL = U64(0xC6A4A7935BD1E995)  # the multiplier of FingerprintCat64
CROSS_HASH_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default hash_key

_S = {n: U64(n) for n in range(65)}


def _rotr(v, s: int):
    """Rotate right by s bits (0 < s < 64)."""
    return (v >> _S[s]) | (v << _S[64 - s])


def _rotl(v, s: int):
    return (v << _S[s]) | (v >> _S[64 - s])


def _shift_mix(v):
    return v ^ (v >> _S[47])


def _fetch64(m: numpy.ndarray, offset: int) -> numpy.ndarray:
    """Little-endian uint64 read at byte ``offset`` of every row of the byte matrix ``m``."""
    return numpy.ascontiguousarray(m[:, offset:offset + 8]).view("<u8")[:, 0].astype(U64)


def _fetch32(m: numpy.ndarray, offset: int) -> numpy.ndarray:
    return numpy.ascontiguousarray(m[:, offset:offset + 4]).view("<u4")[:, 0].astype(U64)


def _hash_len16(u, v, mul):
    """Murmur-style mix of two words: a = (u^v)·mul, a ^= a≫47, b = (v^a)·mul, b ^= b≫47, b·mul."""
    a = (u ^ v) * mul
    a ^= a >> _S[47]
    b = (v ^ a) * mul
    b ^= b >> _S[47]
    return b * mul


def _weak_hash_len32_with_seeds(m, offset: int, a, b):
    """The 16-byte state update of 32 bytes at ``offset`` (FarmHash's WeakHashLen32WithSeeds)."""
    w, x, y, z = (_fetch64(m, offset + i) for i in (0, 8, 16, 24))
    a = a + w
    b = _rotr(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rotr(a, 44)
    return a + z, b + c


def _farmhash_group(m: numpy.ndarray) -> numpy.ndarray:
    """Fingerprint64 of each row of the (n, L) byte matrix ``m`` (all strings of one length L)."""
    n, length = m.shape
    ln = U64(length)
    if length == 0:
        return numpy.full(n, _K2, dtype=U64)
    if length < 4:
        a, b, c = (m[:, i].astype(U64) for i in (0, length >> 1, length - 1))
        y = a + (b << _S[8])
        z = ln + (c << _S[2])
        return _shift_mix((y * _K2) ^ (z * _K0)) * _K2
    mul = _K2 + ln * U64(2)
    if length < 8:
        a = _fetch32(m, 0)
        return _hash_len16(ln + (a << _S[3]), _fetch32(m, length - 4), mul)
    if length <= 16:
        a = _fetch64(m, 0) + _K2
        b = _fetch64(m, length - 8)
        c = _rotr(b, 37) * mul + a
        d = (_rotr(a, 25) + b) * mul
        return _hash_len16(c, d, mul)
    if length <= 32:
        a = _fetch64(m, 0) * _K1
        b = _fetch64(m, 8)
        c = _fetch64(m, length - 8) * mul
        d = _fetch64(m, length - 16) * _K2
        return _hash_len16(_rotr(a + b, 43) + _rotr(c, 30) + d, a + _rotr(b + _K2, 18) + c, mul)
    if length <= 64:
        a = _fetch64(m, 0) * _K2
        b = _fetch64(m, 8)
        c = _fetch64(m, length - 8) * mul
        d = _fetch64(m, length - 16) * _K2
        y = _rotr(a + b, 43) + _rotr(c, 30) + d
        z = _hash_len16(y, a + _rotr(b + _K2, 18) + c, mul)
        e = _fetch64(m, 16) * mul
        f = _fetch64(m, 24)
        g = (y + _fetch64(m, length - 32)) * mul
        h = (z + _fetch64(m, length - 24)) * mul
        return _hash_len16(_rotr(e + f, 43) + _rotr(g, 30) + h, e + _rotr(f + a, 18) + g, mul)
    return _farmhash_long(m)


def _farmhash_long(m: numpy.ndarray) -> numpy.ndarray:
    """Fingerprint64 of rows longer than 64 bytes: 56 bytes of state (v, w, x, y, z) over 64-byte chunks."""
    n, length = m.shape
    zero = numpy.zeros(n, dtype=U64)
    seed = U64(81)
    x = zero + seed
    y = zero + (seed * _K1 + U64(113))
    z = _shift_mix(y * _K2 + U64(113)) * _K2
    v = (zero, zero)
    w = (zero, zero)
    x = x * _K2 + _fetch64(m, 0)
    end = ((length - 1) // 64) * 64
    for s in range(0, end, 64):
        x = _rotr(x + y + v[0] + _fetch64(m, s + 8), 37) * _K1
        y = _rotr(y + v[1] + _fetch64(m, s + 48), 42) * _K1
        x ^= w[1]
        y = y + v[0] + _fetch64(m, s + 40)
        z = _rotr(z + w[0], 33) * _K1
        v = _weak_hash_len32_with_seeds(m, s, v[1] * _K1, x + w[0])
        w = _weak_hash_len32_with_seeds(m, s + 32, z + w[1], y + _fetch64(m, s + 16))
        z, x = x, z
    mul = _K1 + ((z & U64(0xFF)) << _S[1])
    s = length - 64  # the last 64 bytes
    w0 = w[0] + U64((length - 1) & 63)
    v0 = v[0] + w0
    w0 = w0 + v0
    w, v = (w0, w[1]), (v0, v[1])
    x = _rotr(x + y + v[0] + _fetch64(m, s + 8), 37) * mul
    y = _rotr(y + v[1] + _fetch64(m, s + 48), 42) * mul
    x ^= w[1] * U64(9)
    y = y + v[0] * U64(9) + _fetch64(m, s + 40)
    z = _rotr(z + w[0], 33) * mul
    v = _weak_hash_len32_with_seeds(m, s, v[1] * mul, x + w[0])
    w = _weak_hash_len32_with_seeds(m, s + 32, z + w[1], y + _fetch64(m, s + 16))
    z, x = x, z
    return _hash_len16(_hash_len16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z,
                       _hash_len16(v[1], w[1], mul) + x, mul)


def _sipround(v0, v1, v2, v3):
    v0 = v0 + v1
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = v2 + v3
    v3 = _rotl(v3, 16) ^ v2
    v0 = v0 + v3
    v3 = _rotl(v3, 21) ^ v0
    v2 = v2 + v1
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _siphash_group(m: numpy.ndarray, k0: numpy.uint64, k1: numpy.uint64) -> numpy.ndarray:
    """SipHash-2-4 of each row of the (n, L) byte matrix ``m`` under the key (k0, k1)."""
    n, length = m.shape
    zero = numpy.zeros(n, dtype=U64)
    v0 = zero + (k0 ^ U64(0x736F6D6570736575))
    v1 = zero + (k1 ^ U64(0x646F72616E646F6D))
    v2 = zero + (k0 ^ U64(0x6C7967656E657261))
    v3 = zero + (k1 ^ U64(0x7465646279746573))
    full = length // 8 * 8
    for s in range(0, full, 8):  # two compression rounds per 8-byte word
        word = _fetch64(m, s)
        v3 ^= word
        v0, v1, v2, v3 = _sipround(*_sipround(v0, v1, v2, v3))
        v0 ^= word
    last = zero + (U64(length & 0xFF) << _S[56])  # the tail bytes, the length in the top byte
    for i in range(length - full):
        last |= m[:, full + i].astype(U64) << _S[8 * i]
    v3 ^= last
    v0, v1, v2, v3 = _sipround(*_sipround(v0, v1, v2, v3))
    v0 ^= last
    v2 ^= U64(0xFF)
    for _ in range(4):  # four finalization rounds
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def _by_length(values: Sequence[bytes], group_hash) -> numpy.ndarray:
    """Apply ``group_hash`` to the byte strings grouped by length; results in the input order."""
    out = numpy.empty(len(values), dtype=U64)
    if not len(values):
        return out
    lengths = numpy.fromiter(map(len, values), dtype=numpy.int64, count=len(values))
    for length in numpy.unique(lengths).tolist():
        idx = numpy.flatnonzero(lengths == length)
        joined = b"".join([values[i] for i in idx.tolist()])
        m = numpy.frombuffer(joined, dtype=numpy.uint8).reshape(len(idx), length)
        with numpy.errstate(over="ignore"):
            out[idx] = group_hash(m)
    return out


def fingerprint64(values: Sequence[bytes]) -> numpy.ndarray:
    """FarmHash Fingerprint64 of each byte string: a uint64 array of ``len(values)``."""
    return _by_length(values, _farmhash_group)


def siphash64(values: Sequence[bytes], key: Sequence[int]) -> numpy.ndarray:
    """SipHash-2-4 of each byte string under ``key`` = (k0, k1), two integers taken mod 2⁶⁴."""
    k0, k1 = (U64(int(k) % (1 << 64)) for k in key)
    return _by_length(values, lambda m: _siphash_group(m, k0, k1))


def fingerprint_cat64(fp1: numpy.ndarray, fp2: numpy.ndarray) -> numpy.ndarray:
    """TensorFlow's FingerprintCat64: r = (fp1 ^ K)·… mixing two uint64 fingerprints into one (K = 0xc6a4…e995):
    r = fp1 ^ K; r ^= shiftmix(fp2·K)·K; r ·= K; r = shiftmix(shiftmix(r)·K)."""
    with numpy.errstate(over="ignore"):
        fp1 = numpy.asarray(fp1, dtype=U64)
        fp2 = numpy.asarray(fp2, dtype=U64)
        r = fp1 ^ _KMUL
        r = r ^ (_shift_mix(fp2 * _KMUL) * _KMUL)
        r = r * _KMUL
        return _shift_mix(_shift_mix(r) * _KMUL)


def to_bytes(values, encoding: str = "utf-8") -> list[bytes]:
    """A flat list of byte strings from str / bytes items (str encoded with ``encoding``)."""
    return [v if isinstance(v, bytes) else str(v).encode(encoding) for v in values]
