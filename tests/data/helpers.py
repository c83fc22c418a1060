"""Builders of tiny files in the real formats, shared by the data tests.

The TFRecord framing here uses its own bitwise CRC32-C and the Example payloads are
written with the protobuf runtime, so that the library's reader (table/NumPy CRC,
hand-written wire decoder) is checked against independent code.
"""
import importlib.util
import os
import struct

import numpy
from PIL import Image

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))


def load_script(rel):
    """Import a script under datasets/ (not a package) as a module."""
    path = os.path.join(ROOT, rel)
    spec = importlib.util.spec_from_file_location('script_' + rel.replace('/', '_')[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def crc32c_bitwise(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c_bitwise(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(payload, corrupt_length_crc=False, corrupt_payload_crc=False):
    head = struct.pack('<Q', len(payload))
    lc = masked(head) ^ (1 if corrupt_length_crc else 0)
    pc = masked(payload) ^ (1 if corrupt_payload_crc else 0)
    return head + struct.pack('<I', lc) + payload + struct.pack('<I', pc)


def example_class():
    """``tf.train.Example``: the library's class, made by the protobuf runtime."""
    from chainer_see.data.example_proto import example_class as library_class
    return library_class()


def fsns_classes(text, fsns_char_map):
    """Text -> FSNS's own class ids (space 0, null 133 padding to 37)."""
    ids = [0 if i == 133 else i for i in fsns_char_map.encode(text)]  # space 133 -> FSNS 0
    return ids + [133] * (37 - len(ids))


def png_bytes(array):
    import io
    out = io.BytesIO()
    Image.fromarray(array).save(out, format='PNG')
    return out.getvalue()


def fsns_example(image, label_text, char_map, **overrides):
    text = label_text
    Ex = example_class()
    ex = Ex()
    feats = ex.features.feature
    classes = fsns_classes(text, char_map)
    feats['image/encoded'].bytes_list.value.append(png_bytes(image))
    feats['image/format'].bytes_list.value.append(b'PNG')
    feats['image/class'].int64_list.value.extend(overrides.get('classes', classes))
    feats['image/unpadded_class'].int64_list.value.extend(
        overrides.get('unpadded', [c for c in classes if c != 133]))
    feats['image/text'].bytes_list.value.append(overrides.get('text', text).encode('utf-8'))
    feats['image/width'].int64_list.value.append(600)
    feats['image/orig_width'].int64_list.value.append(150)
    return ex.SerializeToString()


def write_fsns_shard(path, payloads, tail=b''):
    """Frame ``payloads`` into a TFRecord file; ``tail`` (raw bytes) is appended."""
    with open(path, 'wb') as f:
        for r in payloads:
            f.write(frame(r))
        f.write(tail)


def fsns_view_image(seed):
    # flat with a small random patch: distinct per seed, yet a small PNG (fast CRCs)
    rng = numpy.random.RandomState(seed)
    img = numpy.full((150, 600, 3), seed % 256, numpy.uint8)
    img[:8, :8] = rng.randint(0, 256, size=(8, 8, 3))
    return img


def write_digit_struct(path, entries):
    """MATLAB v7.3 digitStruct.mat: entries = [(name, [(label, left, top, w, h), ...])].

    One digit: the fields are 1x1 float arrays holding the value; several digits:
    (k, 1) arrays of object references to 1x1 arrays (as the real files).
    """
    import h5py
    with h5py.File(path, 'w') as f:
        refs = f.create_group('#refs#')
        ds = f.create_group('digitStruct')
        name_refs, bbox_refs = [], []
        counter = [0]

        def new(data):
            counter[0] += 1
            return refs.create_dataset('r%d' % counter[0], data=data)

        for name, digits in entries:
            codes = numpy.array([[ord(c)] for c in name], numpy.uint16)
            name_refs.append(new(codes).ref)
            g = refs.create_group('b%d' % len(bbox_refs))
            for j, key in enumerate(('label', 'left', 'top', 'width', 'height')):
                vals = [float(d[j]) for d in digits]
                if len(vals) == 1:
                    g.create_dataset(key, data=numpy.array([[vals[0]]]))
                else:
                    rr = [new(numpy.array([[v]])).ref for v in vals]
                    g.create_dataset(key, data=numpy.array(rr, dtype=h5py.ref_dtype).reshape(-1, 1))
            bbox_refs.append(g.ref)
        ds.create_dataset('name', data=numpy.array(name_refs, dtype=h5py.ref_dtype).reshape(-1, 1))
        ds.create_dataset('bbox', data=numpy.array(bbox_refs, dtype=h5py.ref_dtype).reshape(-1, 1))
