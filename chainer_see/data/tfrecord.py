"""TFRecord files without TensorFlow: framing with CRC checks, and ``tf.train.Example``.

Framing, per record: uint64 little-endian payload length, uint32 masked CRC32-C of the
8 length bytes, the payload, uint32 masked CRC32-C of the payload.  Both CRCs are
verified.  A bad payload CRC loses one record (``skip_bad`` goes on with the next); a
bad length CRC or a truncated record loses the framing, so the rest of the file is
unreadable (``skip_bad`` skips the rest of the shard).

``parse_example`` decodes the payload with the protobuf runtime, as the message::

    message Example  { Features features = 1; }
    message Features { map<string, Feature> feature = 1; }
    message Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2;
                                    Int64List int64_list = 3; } }
    message BytesList { repeated bytes value = 1; }
    message FloatList { repeated float value = 1 [packed = true]; }
    message Int64List { repeated int64 value = 1 [packed = true]; }

Packed and unpacked repeated scalars are both accepted, unknown fields are skipped,
a repeated map key keeps its last value (protobuf's rules, as the runtime applies them).
"""
import os
import struct

from chainer_see.data.crc32c import masked_crc32c
from chainer_see.data.example_proto import KINDS, example_class
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


def parse_example(payload):
    """Serialized ``tf.train.Example`` -> ``{name: (kind, values)}``, parsed by the
    protobuf runtime (:mod:`chainer_see.data.example_proto`).

    ``kind`` is ``'bytes'``, ``'float'``, ``'int64'`` or ``None`` (a feature with no list).
    Raises :class:`ExampleDecodeError` for malformed input.
    """
    from google.protobuf.message import DecodeError
    try:
        example = example_class().FromString(bytes(payload))
    except DecodeError as e:      # "Error parsing message with type ...: <why>"
        why = str(e).rsplit(': ', 1)[-1]
        raise ExampleDecodeError('malformed protobuf: %s' % (why[:1].lower() + why[1:]))\
            from None
    out = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof('kind')
        if kind is None:
            out[name] = (None, [])
        else:
            out[name] = (KINDS[kind], list(getattr(feature, kind).value))
    return out
