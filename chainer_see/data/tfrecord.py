"""TFRecord files without TensorFlow: framing with CRC checks, and ``tf.train.Example``.

Framing, per record: uint64 little-endian payload length, uint32 masked CRC32-C of the
8 length bytes, the payload, uint32 masked CRC32-C of the payload.  Both CRCs are
verified.  A bad payload CRC loses one record (``skip_bad`` goes on with the next); a
bad length CRC or a truncated record loses the framing, so the rest of the file is
unreadable (``skip_bad`` skips the rest of the shard).

``parse_example`` is a hand-written decoder of the protobuf wire format for::

    message Example  { Features features = 1; }
    message Features { map<string, Feature> feature = 1; }
    message Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2;
                                    Int64List int64_list = 3; } }
    message BytesList { repeated bytes value = 1; }
    message FloatList { repeated float value = 1 [packed = true]; }
    message Int64List { repeated int64 value = 1 [packed = true]; }

Packed and unpacked repeated scalars are both accepted, unknown fields are skipped,
a repeated map key keeps its last value (protobuf's rules).
"""
import os
import struct

from chainer_see.data.crc32c import masked_crc32c
from chainer_see.data.errors import DataError


class ExampleDecodeError(ValueError):
    """A payload that is not a well-formed ``tf.train.Example``."""


def read_records(path, on_error=None):
    """Yield ``(index, payload bytes)`` of the TFRecord file ``path`` (index from 0).

    Args:
        on_error (callable or None): receives a :class:`DataError` for a bad record; it
            raises (the default when ``None``) or returns to skip.  After a framing
            error the rest of the file is skipped.
    """
    def fail(index, reason, fatal):
        err = DataError(path, 'record %d' % index, reason)
        if on_error is None:
            raise err
        on_error(err)
        return fatal

    try:
        f = open(path, 'rb')
    except FileNotFoundError:
        raise DataError(path, None, 'TFRecord file not found') from None
    except OSError as e:
        raise DataError(path, None, 'cannot read TFRecord file (%s)' % e.strerror) from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            fail(0, 'empty file (no records)', True)
            return
        index = 0
        offset = 0
        while True:
            head = f.read(12)
            if not head:
                return
            if len(head) < 12:
                fail(index, 'truncated record header at byte %d (file ends after %d bytes)'
                     % (offset, len(head)), True)
                return
            length_bytes, (length_crc,) = head[:8], struct.unpack('<I', head[8:])
            want = masked_crc32c(length_bytes)
            if want != length_crc:
                fail(index, 'length CRC mismatch at byte %d (stored 0x%08x, computed 0x%08x): '
                     'corrupt or not a TFRecord file' % (offset, length_crc, want), True)
                return
            (length,) = struct.unpack('<Q', length_bytes)
            left = size - offset - 12
            if length + 4 > left:
                fail(index, 'truncated record: header says %d payload bytes, %d bytes left'
                     % (length, max(left - 4, 0)), True)
                return
            payload = f.read(length)
            (data_crc,) = struct.unpack('<I', f.read(4))
            want = masked_crc32c(payload)
            offset += 12 + length + 4
            if want != data_crc:
                fail(index, 'payload CRC mismatch (stored 0x%08x, computed 0x%08x): corrupt record'
                     % (data_crc, want), False)
            else:
                yield index, payload
            index += 1


# ------------------------------------------------------------------ protobuf wire format

def _varint(buf, pos, end):
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ExampleDecodeError('truncated varint at byte %d' % pos)
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ExampleDecodeError('varint longer than 10 bytes at byte %d' % pos)


def _fields(buf, pos, end):
    """Yield ``(field number, wire type, value)``; LEN values are ``(start, stop)``."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        field, wt = key >> 3, key & 7
        if field == 0:
            raise ExampleDecodeError('field number 0 at byte %d' % pos)
        if wt == 0:
            value, pos = _varint(buf, pos, end)
        elif wt == 1:
            if pos + 8 > end:
                raise ExampleDecodeError('truncated 64-bit value at byte %d' % pos)
            value, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            n, pos = _varint(buf, pos, end)
            if pos + n > end:
                raise ExampleDecodeError('length %d at byte %d runs past the end (%d)'
                                         % (n, pos, end))
            value, pos = (pos, pos + n), pos + n
        elif wt == 5:
            if pos + 4 > end:
                raise ExampleDecodeError('truncated 32-bit value at byte %d' % pos)
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ExampleDecodeError('unsupported wire type %d at byte %d' % (wt, pos))
        yield field, wt, value


def _signed64(v):
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def _parse_feature(buf, start, end):
    kind, values = None, []
    for field, wt, value in _fields(buf, start, end):
        if wt != 2 or field not in (1, 2, 3):
            continue
        kind, values = {1: 'bytes', 2: 'float', 3: 'int64'}[field], []
        for f2, wt2, v2 in _fields(buf, value[0], value[1]):
            if f2 != 1:
                continue
            if kind == 'bytes':
                if wt2 != 2:
                    raise ExampleDecodeError('BytesList value with wire type %d' % wt2)
                values.append(bytes(buf[v2[0]:v2[1]]))
            elif kind == 'int64':
                if wt2 == 0:
                    values.append(_signed64(v2))
                elif wt2 == 2:
                    p, e = v2
                    while p < e:
                        v, p = _varint(buf, p, e)
                        values.append(_signed64(v))
                else:
                    raise ExampleDecodeError('Int64List value with wire type %d' % wt2)
            else:
                if wt2 == 5:
                    values.append(struct.unpack('<f', bytes(v2))[0])
                elif wt2 == 2:
                    p, e = v2
                    if (e - p) % 4:
                        raise ExampleDecodeError('packed floats of %d bytes' % (e - p))
                    values.extend(struct.unpack('<%df' % ((e - p) // 4), bytes(buf[p:e])))
                else:
                    raise ExampleDecodeError('FloatList value with wire type %d' % wt2)
    return kind, values


def parse_example(payload):
    """Serialized ``tf.train.Example`` -> ``{name: (kind, values)}``.

    ``kind`` is ``'bytes'``, ``'float'``, ``'int64'`` or ``None`` (a feature with no list).
    Raises :class:`ExampleDecodeError` for malformed input.
    """
    buf = memoryview(payload)
    out = {}
    for field, wt, value in _fields(buf, 0, len(buf)):
        if field != 1 or wt != 2:
            continue
        for f2, wt2, entry in _fields(buf, value[0], value[1]):
            if f2 != 1 or wt2 != 2:
                continue
            key, feature = None, (None, [])
            for f3, wt3, v3 in _fields(buf, entry[0], entry[1]):
                if f3 == 1 and wt3 == 2:
                    try:
                        key = bytes(buf[v3[0]:v3[1]]).decode('utf-8')
                    except UnicodeDecodeError:
                        raise ExampleDecodeError('feature name is not UTF-8') from None
                elif f3 == 2 and wt3 == 2:
                    feature = _parse_feature(buf, v3[0], v3[1])
            if key is None:
                raise ExampleDecodeError('feature map entry without a name')
            out[key] = feature
    return out
