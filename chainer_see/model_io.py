"""Model files: one ``.npz`` with the weights, the configuration and optional metadata.

Layout: the weights under the keys Chainer's ``save_npz`` uses for ``SEE``
(``localization_net/conv0/W``, ...; exactly the published SVHN layout for the ``svhn``
preset), plus

* ``__see__/format``: format version (int),
* ``__see__/config``: ``SEEConfig.to_json()`` with ``char_map`` stored as the list of
  characters, so a file needs nothing else to be evaluated,
* ``__see__/metadata``: JSON of the optional ``metadata`` dict (dataset, iteration, ...).

A file in the published layout (weights only) loads with ``load_model(path,
preset=...)``: ``'svhn'`` (the published SVHN model), ``'svhn-grid'`` (the SVHN code on
the 200x200 grid, 4 regions), ``'fsns'`` (the published FSNS model of ``train_fsns.py``:
ResNet-152 reader); the keys must match the model built from that preset exactly (no
missing, no unexpected keys, same shapes).  Files written before two links took their
published names (``transform_lstm`` -> ``transform_2``, ``lstm_backward`` -> ``blstm``)
load under the new names.

A file that cannot be used (missing, empty, not a zip archive, truncated or damaged, a
zip without SEE arrays, keys or shapes that do not fit) raises :class:`ModelFileError`
(a ``DataError``, hence a ``ValueError``) with a one-line message ``PATH: reason``; the
scripts print it and exit with status 2.
"""
import collections
import json
import zipfile
import zlib

import numpy

import chainer
from chainer import backend

from chainer_see.atomic import atomic_file
from chainer_see.config import SEEConfig
from chainer_see.data.errors import DataError

FORMAT_VERSION = 1
PREFIX = '__see__/'
CONFIG_KEY = PREFIX + 'config'
METADATA_KEY = PREFIX + 'metadata'
FORMAT_KEY = PREFIX + 'format'
#: the top-level links of ``SEE``: a file with none of these keys holds no SEE weights
NETWORKS = ('localization_net/', 'recognition_net/')
#: links renamed to their published names: files written before load under the new name
RENAMED = (('localization_net/transform_lstm/', 'localization_net/transform_2/'),
           ('recognition_net/lstm_backward/', 'recognition_net/blstm/'))
#: at most this many keys are named per kind of mismatch (the rest are counted)
MAX_NAMED_KEYS = 5
#: what a damaged zip member or array header raises while it is read
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError)


class ModelFileError(DataError):
    """A model file that cannot be used; ``str()`` is one line, ``PATH: reason``."""

    def __init__(self, path, reason):
        super(ModelFileError, self).__init__(path, None, reason)

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


def _cast(key, array, dtype):
    """A floating-point ``array`` in ``dtype``; ``ValueError`` if a value overflows it."""
    if array.dtype.kind != 'f':
        return array
    with numpy.errstate(over='ignore'):
        out = array.astype(dtype)
    if not numpy.isfinite(out).all() and numpy.isfinite(array).all():
        raise ValueError('save_model: %s holds values beyond %s (largest magnitude %g)'
                         % (key, numpy.dtype(dtype).name, numpy.abs(array).max()))
    return out


#: zlib saves about 8 % of a file of float32 weights and costs ten times the writing
#: time (the fsns model: 268 against 290 MB, 32 against 3 s), so model files and
#: snapshots are written uncompressed; the zoo's small committed files are compressed
COMPRESS = False


def save_model(model, path, metadata=None, dtype=None, compress=COMPRESS):
    """Write ``model`` (a ``SEE``) with its configuration to ``path`` (``.npz``), atomically.

    Args:
        model: ``chainer_see.SEE``.
        path: target file; written to a temporary file in the same folder first and then
            renamed, so an interrupted save never leaves a half-written model.
        metadata: optional JSON-serialisable dict stored alongside (e.g. the training
            dataset, iteration).
        dtype: store the floating-point arrays in this dtype (``numpy.float16`` for the
            model zoo); ``load_model`` casts them back to the model's own dtype.  A value
            the dtype cannot hold is a ``ValueError``.
        compress: zlib-compress the file (see ``COMPRESS``).
    """
    config = model.config
    cfg = config.to_dict()
    cfg['char_map'] = config.get_char_map().to_list()
    arrays = _model_arrays(model)
    if dtype is not None:
        arrays = {k: _cast(k, v, dtype) for k, v in arrays.items()}
    arrays[FORMAT_KEY] = numpy.asarray(FORMAT_VERSION)
    arrays[CONFIG_KEY] = numpy.asarray(json.dumps(cfg, ensure_ascii=False, sort_keys=True))
    if metadata is not None:
        try:
            text = json.dumps(metadata, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as e:
            raise ValueError('save_model: metadata must be JSON-serialisable (%s)' % e)
        arrays[METADATA_KEY] = numpy.asarray(text)
    with atomic_file(path) as f:
        (numpy.savez_compressed if compress else numpy.savez)(f, **arrays)


def _open(path):
    """``numpy.load`` of a model file, or :class:`ModelFileError` saying what it is instead."""
    try:
        with open(path, 'rb') as f:
            head = f.read(6)
    except FileNotFoundError:
        raise ModelFileError(path, 'no such model file') from None
    except IsADirectoryError:
        raise ModelFileError(path, 'is a folder, not a model file') from None
    except OSError as e:
        raise ModelFileError(path, 'cannot read the model file (%s)' % (e.strerror or e)) from None
    if not head:
        raise ModelFileError(path, 'empty file, not a model file')
    if head.startswith(b'\x93NUMPY'):
        raise ModelFileError(path, 'a single .npy array, not an .npz model file')
    if not head.startswith(b'PK'):
        raise ModelFileError(path, 'not an .npz model file (not a zip archive)')
    try:
        return numpy.load(path, allow_pickle=False)
    except _READ_ERRORS as e:
        raise ModelFileError(path, 'truncated or damaged .npz model file (%s)' % (e,)) from None


def _get(npz, key, path):
    """One array of the open file; a damaged member raises :class:`ModelFileError`."""
    try:
        return npz[key]
    except _READ_ERRORS as e:
        raise ModelFileError(path, 'truncated or damaged .npz model file: array %s cannot be '
                                   'read (%s)' % (key, e)) from None


def _read_info(npz, path):
    keys = set(npz.files)
    config = metadata = None
    fmt = 0
    if not any(k.startswith(PREFIX) or k.startswith(NETWORKS) for k in keys):
        names = sorted(keys)
        raise ModelFileError(path, 'holds no SEE model: none of its %d arrays (%s) is a SEE '
                                   'weight or configuration' % (len(names), _names(names)))
    if FORMAT_KEY in keys:
        try:
            fmt = int(_get(npz, FORMAT_KEY, path))
        except (TypeError, ValueError):
            raise ModelFileError(path, 'bad stored format version') from None
        if fmt > FORMAT_VERSION:
            raise ModelFileError(path, 'model file format %d is newer than this chainer_see '
                                       'understands (%d)' % (fmt, FORMAT_VERSION))
    if CONFIG_KEY in keys:
        try:
            config = SEEConfig.from_json(str(_get(npz, CONFIG_KEY, path)))
        except ModelFileError:
            raise
        except (TypeError, ValueError) as e:
            raise ModelFileError(path, 'bad stored configuration: %s'
                                 % ' '.join(str(e).split())) from None
    if METADATA_KEY in keys:
        try:
            metadata = json.loads(str(_get(npz, METADATA_KEY, path)))
        except ValueError as e:
            if isinstance(e, ModelFileError):
                raise
            raise ModelFileError(path, 'bad stored metadata (%s)' % (e,)) from None
    return ModelInfo(config, metadata, fmt)


def _names(keys):
    """Up to :data:`MAX_NAMED_KEYS` keys, then how many more."""
    keys = list(keys)
    text = ', '.join(keys[:MAX_NAMED_KEYS])
    if len(keys) > MAX_NAMED_KEYS:
        text += ' and %d more' % (len(keys) - MAX_NAMED_KEYS)
    return text


def _renamed(key):
    """``key`` under the current name of its link (:data:`RENAMED`)."""
    for old, new in RENAMED:
        if key.startswith(old):
            return new + key[len(old):]
    return key


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
                raise ModelFileError(path, "the file holds weights but no SEE configuration (the "
                                           "published layout?); pass preset='svhn' (or the "
                                           "preset / SEEConfig it was trained with) to load_model")
            config = preset if isinstance(preset, SEEConfig) else SEEConfig.preset(preset)
        elif preset is not None:
            import warnings
            warnings.warn('%s carries its own configuration; load_model ignores preset=%r'
                          % (path, preset))
        model = SEE(config)
        expected = {k: v.shape for k, v in _model_arrays(model).items()}
        stored = {_renamed(k): _get(npz, k, path) for k in npz.files if not k.startswith(PREFIX)}
        missing = sorted(set(expected) - set(stored))
        unexpected = sorted(set(stored) - set(expected))
        wrong = sorted('%s: file %s, model %s' % (k, stored[k].shape, expected[k])
                       for k in set(expected) & set(stored) if stored[k].shape != expected[k])
        if missing or unexpected or wrong:
            parts = []
            if missing:
                parts.append('missing keys: ' + _names(missing))
            if unexpected:
                parts.append('unexpected keys: ' + _names(unexpected))
            if wrong:
                parts.append('wrong shapes (image_size/crop_size decide some): ' + _names(wrong))
            raise ModelFileError(path, 'does not fit the model built from its configuration: '
                                 + '; '.join(parts))
        try:
            chainer.serializers.NpzDeserializer(stored, strict=True).load(model)
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(path, 'weights cannot be loaded (%s)' % (e,)) from None
    return model
