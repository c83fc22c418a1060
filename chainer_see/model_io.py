"""Model files: one ``.npz`` with the weights, the configuration and optional metadata.

Layout: the weights under the keys Chainer's ``save_npz`` uses for ``SEE``
(``localization_net/conv0/W``, ...; exactly the published SVHN layout for the ``svhn``
preset), plus

* ``__see__/format``: format version (int),
* ``__see__/config``: ``SEEConfig.to_json()`` with ``char_map`` stored as the list of
  characters, so a file needs nothing else to be evaluated,
* ``__see__/metadata``: JSON of the optional ``metadata`` dict (dataset, iteration, ...).

A file in the published layout (weights only) loads with ``load_model(path,
preset='svhn')``; the keys must match the model built from that preset exactly (no
missing, no unexpected keys, same shapes).
"""
import collections
import json

import numpy

import chainer
from chainer import backend

from chainer_see.atomic import atomic_file
from chainer_see.config import SEEConfig

FORMAT_VERSION = 1
PREFIX = '__see__/'
CONFIG_KEY = PREFIX + 'config'
METADATA_KEY = PREFIX + 'metadata'
FORMAT_KEY = PREFIX + 'format'

ModelInfo = collections.namedtuple('ModelInfo', ['config', 'metadata', 'format'])
ModelInfo.__doc__ = """What a model file says about itself: ``config`` (``SEEConfig`` or
``None`` for a published-layout file), ``metadata`` (dict or ``None``), ``format``
(int, 0 for a published-layout file)."""


def _model_arrays(model):
    """Flat ``{key: numpy array}`` of the model's parameters and persistent values."""
    s = chainer.serializers.DictionarySerializer()
    s.save(model)
    cpu = backend.CpuDevice()
    return {k: numpy.asarray(cpu.send(v)) for k, v in s.target.items()}


def save_model(model, path, metadata=None):
    """Write ``model`` (a ``SEE``) with its configuration to ``path`` (``.npz``), atomically.

    Args:
        model: ``chainer_see.SEE``.
        path: target file; written to a temporary file in the same folder first and then
            renamed, so an interrupted save never leaves a half-written model.
        metadata: optional JSON-serialisable dict stored alongside (e.g. the training
            dataset, iteration).
    """
    config = model.config
    cfg = config.to_dict()
    cfg['char_map'] = config.get_char_map().to_list()
    arrays = _model_arrays(model)
    arrays[FORMAT_KEY] = numpy.asarray(FORMAT_VERSION)
    arrays[CONFIG_KEY] = numpy.asarray(json.dumps(cfg, ensure_ascii=False, sort_keys=True))
    if metadata is not None:
        try:
            text = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as e:
            raise ValueError('save_model: metadata must be JSON-serialisable (%s)' % e)
        arrays[METADATA_KEY] = numpy.asarray(text)
    with atomic_file(path) as f:
        numpy.savez_compressed(f, **arrays)


def _open(path):
    try:
        return numpy.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError('%s: not a readable .npz model file (%s)' % (path, e))


def _read_info(npz, path):
    keys = set(npz.files)
    config = metadata = None
    fmt = 0
    if FORMAT_KEY in keys:
        fmt = int(npz[FORMAT_KEY])
        if fmt > FORMAT_VERSION:
            raise ValueError('%s: model file format %d is newer than this chainer_see '
                             'understands (%d)' % (path, fmt, FORMAT_VERSION))
    if CONFIG_KEY in keys:
        try:
            config = SEEConfig.from_json(str(npz[CONFIG_KEY]))
        except ValueError as e:
            raise ValueError('%s: bad stored configuration: %s' % (path, e))
    if METADATA_KEY in keys:
        metadata = json.loads(str(npz[METADATA_KEY]))
    return ModelInfo(config, metadata, fmt)


def read_model_info(path):
    """Configuration and metadata of a model file, without building the model."""
    with _open(path) as npz:
        return _read_info(npz, path)


def load_model(path, preset=None):
    """Rebuild a ``SEE`` model from a file written by ``save_model`` (or published).

    Args:
        path: the ``.npz`` file.
        preset: only for files without a stored configuration (the published layout): a
            preset name (``'svhn'``, ...) or a ``SEEConfig`` describing the network.
            Ignored with a warning when the file carries its configuration.
    Returns:
        ``SEE`` on the CPU, weights loaded.
    """
    from chainer_see.links.see import SEE
    with _open(path) as npz:
        info = _read_info(npz, path)
        config = info.config
        if config is None:
            if preset is None:
                raise ValueError("%s: the file holds weights but no SEE configuration (the "
                                 "published layout?); pass preset='svhn' (or the preset / "
                                 "SEEConfig it was trained with) to load_model" % path)
            config = preset if isinstance(preset, SEEConfig) else SEEConfig.preset(preset)
        elif preset is not None:
            import warnings
            warnings.warn('%s carries its own configuration; load_model ignores preset=%r'
                          % (path, preset))
        model = SEE(config)
        expected = {k: v.shape for k, v in _model_arrays(model).items()}
        stored = {k: npz[k] for k in npz.files if not k.startswith(PREFIX)}
        missing = sorted(set(expected) - set(stored))
        unexpected = sorted(set(stored) - set(expected))
        wrong = sorted('%s: file %s, model %s' % (k, stored[k].shape, expected[k])
                       for k in set(expected) & set(stored) if stored[k].shape != expected[k])
        if missing or unexpected or wrong:
            lines = ['%s does not fit the model built from its configuration:' % path]
            if missing:
                lines.append('  missing keys: ' + ', '.join(missing))
            if unexpected:
                lines.append('  unexpected keys: ' + ', '.join(unexpected))
            if wrong:
                lines.append('  wrong shapes (image_size/crop_size decide some): '
                             + '; '.join(wrong))
            raise ValueError('\n'.join(lines))
        chainer.serializers.NpzDeserializer(stored, strict=True).load(model)
    return model
