"""CRC32-C (Castagnoli), as TFRecord files use it, without compiled dependencies.

``crc32c(data)`` uses a C implementation when one is installed (``google_crc32c`` with
its C extension, or the ``crc32c`` package) and otherwise NumPy: the input is cut into
chunks whose CRCs are computed side by side, then joined pairwise with the CRC's
linear "shift by k zero bytes" operator (about 100 MB/s on one core, against ~5 MB/s
for a plain Python loop, which is kept for short inputs and as the reference).
"""
import numpy

POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8


def _make_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _make_table()
_TABLE_NP = numpy.array(_TABLE, dtype=numpy.uint32)


def crc32c_python(data, crc=0):
    """Plain table-driven CRC32-C of ``data`` continuing from ``crc``."""
    t = _TABLE
    r = crc ^ 0xFFFFFFFF
    for b in bytes(data):
        r = t[(r ^ b) & 0xFF] ^ (r >> 8)
    return r ^ 0xFFFFFFFF


# A linear operator on the 32-bit CRC register is kept as 4 byte tables: the image of
# a register value x is T0[x & 255] ^ T1[(x >> 8) & 255] ^ T2[(x >> 16) & 255] ^ T3[x >> 24].

def _tables_from_columns(cols):
    v = numpy.arange(256, dtype=numpy.uint32)
    tabs = numpy.zeros((4, 256), numpy.uint32)
    for p in range(4):
        for b in range(8):
            tabs[p] ^= numpy.where((v >> b) & 1, cols[8 * p + b], 0).astype(numpy.uint32)
    return tabs


def _apply(tabs, x):
    return (tabs[0][x & 0xFF] ^ tabs[1][(x >> 8) & 0xFF]
            ^ tabs[2][(x >> 16) & 0xFF] ^ tabs[3][x >> 24])


_ZERO_POWERS = []  # _ZERO_POWERS[k]: tables of "feed 2**k zero bytes"


def _zero_power(k):
    while len(_ZERO_POWERS) <= k:
        if not _ZERO_POWERS:
            cols = numpy.array([_TABLE[(1 << i) & 0xFF] ^ ((1 << i) >> 8) for i in range(32)],
                               numpy.uint32)
        else:
            prev = _ZERO_POWERS[-1]
            cols = _apply(prev, _apply(prev, numpy.uint32(1) << numpy.arange(32, dtype=numpy.uint32)))
        _ZERO_POWERS.append(_tables_from_columns(cols))
    return _ZERO_POWERS[k]


_CHUNK_LOG2 = 6  # chunks of 64 bytes


def crc32c_numpy(data, crc=0):
    """CRC32-C of ``data`` continuing from ``crc``, vectorized with NumPy."""
    buf = numpy.frombuffer(memoryview(data).cast('B'), dtype=numpy.uint8)
    n = len(buf)
    L = 1 << _CHUNK_LOG2
    k = -(-n // L)
    if k < 2:
        return crc32c_python(buf.tobytes(), crc)
    # Zero bytes in front do not change a register that starts at 0, so pad in front.
    padded = numpy.zeros(k * L, numpy.uint8)
    padded[k * L - n:] = buf
    cols = padded.reshape(k, L).T.astype(numpy.uint32)
    r = numpy.zeros(k, numpy.uint32)
    table = _TABLE_NP
    for j in range(L):
        r = table[(r ^ cols[j]) & 0xFF] ^ (r >> 8)
    level = _CHUNK_LOG2
    while len(r) > 1:
        if len(r) % 2:
            r = numpy.concatenate([numpy.zeros(1, numpy.uint32), r])
        r = _apply(_zero_power(level), r[0::2]) ^ r[1::2]
        level += 1
    raw = int(r[0])
    # Register after the message from start value s = raw(message from 0) ^ shift_n(s).
    s = numpy.uint32(crc ^ 0xFFFFFFFF)
    bit = 0
    while n >> bit:
        if (n >> bit) & 1:
            s = _apply(_zero_power(bit), s)
        bit += 1
    return (raw ^ int(s)) ^ 0xFFFFFFFF


def _c_implementation():
    try:
        import google_crc32c
        if getattr(google_crc32c, 'implementation', 'c') == 'c':
            return lambda data: google_crc32c.value(bytes(data))
    except ImportError:
        pass
    try:
        import crc32c as _crc32c_pkg
        return lambda data: _crc32c_pkg.crc32c(bytes(data))
    except ImportError:
        pass
    return None


_FAST = _c_implementation()


def crc32c(data):
    """CRC32-C of ``data`` (bytes-like)."""
    if _FAST is not None:
        return _FAST(data)
    if len(data) < 512:
        return crc32c_python(data)
    return crc32c_numpy(data)


def masked_crc32c(data):
    """TFRecord's masked CRC: ``((crc >> 15) | (crc << 17)) + 0xa282ead8`` mod 2**32."""
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def implementation():
    """Name of the CRC32-C implementation in use for long inputs."""
    return 'c' if _FAST is not None else 'numpy'
