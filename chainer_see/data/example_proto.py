"""The ``tf.train.Example`` message class, built with the protobuf runtime.

TensorFlow is not a dependency, and neither is a ``protoc``-generated ``_pb2`` module:
the few messages of ``tensorflow/core/example/{example,feature}.proto`` are declared here
as a ``FileDescriptorProto`` (same field numbers, types and packing) in a private
descriptor pool, and the runtime makes the class.  Payloads written by TensorFlow parse
with it unchanged: the wire format depends only on field numbers and types.
"""
import functools

#: message name -> [(field name, number, type, label, type name or None)]
_MESSAGES = (
    ('BytesList', [('value', 1, 'TYPE_BYTES', 'LABEL_REPEATED', None)]),
    ('FloatList', [('value', 1, 'TYPE_FLOAT', 'LABEL_REPEATED', None)]),
    ('Int64List', [('value', 1, 'TYPE_INT64', 'LABEL_REPEATED', None)]),
    ('Feature', [('bytes_list', 1, 'TYPE_MESSAGE', 'LABEL_OPTIONAL', '.tensorflow.BytesList'),
                 ('float_list', 2, 'TYPE_MESSAGE', 'LABEL_OPTIONAL', '.tensorflow.FloatList'),
                 ('int64_list', 3, 'TYPE_MESSAGE', 'LABEL_OPTIONAL', '.tensorflow.Int64List')]),
    ('Features', [('feature', 1, 'TYPE_MESSAGE', 'LABEL_REPEATED',
                   '.tensorflow.Features.FeatureEntry')]),
    ('Example', [('features', 1, 'TYPE_MESSAGE', 'LABEL_OPTIONAL', '.tensorflow.Features')]),
)
#: ``Feature.kind`` (a oneof) -> the name ``parse_example`` gives it
KINDS = {'bytes_list': 'bytes', 'float_list': 'float', 'int64_list': 'int64'}


def _file_descriptor():
    from google.protobuf import descriptor_pb2
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name='chainer_see/tensorflow_example.proto', package='tensorflow', syntax='proto3')
    for name, fields in _MESSAGES:
        m = fdp.message_type.add(name=name)
        for fname, number, typ, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=getattr(F, typ),
                            label=getattr(F, label))
            if type_name:
                f.type_name = type_name
        if name == 'Feature':
            m.oneof_decl.add(name='kind')
            for f in m.field:
                f.oneof_index = 0
        if name == 'Features':      # map<string, Feature> feature = 1
            entry = m.nested_type.add(name='FeatureEntry')
            entry.options.map_entry = True
            entry.field.add(name='key', number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
            entry.field.add(name='value', number=2, type=F.TYPE_MESSAGE,
                            label=F.LABEL_OPTIONAL, type_name='.tensorflow.Feature')
    return fdp


@functools.lru_cache(maxsize=None)
def example_class():
    """The message class of ``tf.train.Example`` (``Example.FromString(payload)``)."""
    from google.protobuf import descriptor_pool, message_factory
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file_descriptor())
    return message_factory.GetMessageClass(pool.FindMessageTypeByName('tensorflow.Example'))
