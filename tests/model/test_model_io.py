"""save_model / load_model, and files in the published SVHN layout."""
import os
import re

import numpy
import pytest

import chainer
import chainer.functions as F

import chainer_see
from chainer_see import SEE
from chainer_see import SEEConfig
from chainer_see import load_model
from chainer_see import read_model_info
from chainer_see import save_model
from chainer_see import model_io

LAYOUT = os.path.join(os.path.dirname(__file__), 'svhn_model_layout.txt')


def published_layout():
    """{key: shape} of the published SVHN model (copied from the project's specs)."""
    shapes = {}
    with open(LAYOUT) as f:
        for line in f:
            if line.strip() and not line.startswith('#'):
                key, shape = line.split(' ', 1)
                shapes[key] = tuple(int(v) for v in shape.strip()[1:-1].split(',') if v.strip())
    return shapes


def published_file(path, seed=0, drop=(), extra=(), reshape=()):
    rng = numpy.random.RandomState(seed)
    arrays = {}
    for key, shape in published_layout().items():
        if key in drop:
            continue
        if key.endswith('/N'):
            arrays[key] = numpy.asarray(7)
        elif key.endswith('avg_var'):
            arrays[key] = rng.uniform(0.5, 2, shape).astype(numpy.float32)
        else:
            arrays[key] = (rng.randn(*shape) * 0.2).astype(numpy.float32)
    for key in extra:
        arrays[key] = numpy.zeros(3, numpy.float32)
    for key, shape in reshape:
        arrays[key] = numpy.zeros(shape, numpy.float32)
    numpy.savez(path, **arrays)
    return arrays


def test_svhn_preset_has_exactly_the_published_layout():
    model = SEE(SEEConfig.preset('svhn'))
    ours = {k: v.shape for k, v in model_io._model_arrays(model).items()}
    assert ours == published_layout()


def _outputs(model, x, train, seed=5):
    numpy.random.seed(seed)                      # rotation dropout draws in training mode
    with chainer.using_config('train', train), chainer.no_backprop_mode():
        out = model(x)
    return [out.logits.array, out.grids.array, out.crops.array, out.boxes]


@pytest.mark.parametrize('cfg', [
    SEEConfig.preset('svhn'),
    SEEConfig.preset('fsns-paper', image_size=(48, 96), views=2, num_regions=2, num_chars=3,
                     crop_size=(16, 24), head='independent', backward_lstm=False,
                     transform_head='lstm', shortcut='identity', rotation_dropout='sample'),
], ids=['svhn', 'variants'])
def test_round_trip(tmp_path, cfg):
    model = SEE(cfg)
    x = numpy.random.RandomState(0).rand(2, 3, *cfg.image_size).astype(numpy.float32)
    _outputs(model, x, True)             # move the running statistics off their init
    path = str(tmp_path / 'model.npz')
    save_model(model, path, metadata={'dataset': 'synthetic', 'iteration': 12})
    loaded = load_model(path)
    assert loaded.config == cfg.replace(char_map=cfg.get_char_map().to_list())
    for train in (False, True):
        for a, b in zip(_outputs(model, x, train), _outputs(loaded, x, train)):
            numpy.testing.assert_array_equal(a, b)
    info = read_model_info(path)
    assert info.metadata == {'dataset': 'synthetic', 'iteration': 12}
    assert info.config == loaded.config and info.format == model_io.FORMAT_VERSION
    assert os.listdir(str(tmp_path)) == ['model.npz']


def _functional_published_forward(p, x):
    """The published SVHN network written out with plain Chainer functions (test mode)."""
    def conv(h, name, stride=1, pad=1):
        return F.convolution_2d(h, p[name + '/W'], p[name + '/b'], stride=stride, pad=pad)

    def bn(h, name):
        return F.fixed_batch_normalization(h, p[name + '/gamma'], p[name + '/beta'],
                                           p[name + '/avg_mean'], p[name + '/avg_var'])

    def block(h, name):
        out = bn(conv(F.relu(bn(conv(h, name + '/conv0'), name + '/bn0')), name + '/conv1'),
                 name + '/bn1')
        if name + '/conv2/W' in p:
            out = out + bn(conv(h, name + '/conv2', pad=0), name + '/bn2')
        return F.relu(out)

    def lstm_steps(h, name, steps):
        u = F.linear(h, p[name + '/upward/W'], p[name + '/upward/b'])
        c = numpy.zeros((h.shape[0], u.shape[1] // 4), numpy.float32)
        hs, state = [], None
        for _ in range(steps):
            a = u if state is None else u + F.linear(state, p[name + '/lateral/W'])
            c, state = F.lstm(c, a)
            hs.append(state)
        return hs

    L = 'localization_net/'
    h = F.average_pooling_2d(F.relu(bn(conv(x, L + 'conv0'), L + 'bn0')), 2, 2)
    h = F.max_pooling_2d(block(h, L + 'rs1'), 2, 2)
    h = F.max_pooling_2d(block(h, L + 'rs2'), 2, 2)
    h = F.average_pooling_2d(block(h, L + 'rs3'), 5, 2)
    (s,) = lstm_steps(h, L + 'lstm', 1)
    theta = F.linear(F.relu(s), p[L + 'transform_2/W'], p[L + 'transform_2/b'])
    theta = F.reshape(theta, (-1, 2, 3)).array.copy()
    theta[:, 0, 1] *= 0.5                          # rotation dropout at test time
    theta[:, 1, 0] *= 0.5
    crops = F.spatial_transformer_sampler(x, F.spatial_transformer_grid(theta, (50, 50)))
    R = 'recognition_net/'
    h = bn(crops, R + 'data_bn')
    h = F.average_pooling_2d(F.relu(bn(conv(h, R + 'conv0', stride=2), R + 'bn0')), 2, 2)
    h = F.max_pooling_2d(block(block(h, R + 'rs1'), R + 'rs2'), 2, 2)
    h = F.average_pooling_2d(block(h, R + 'rs3'), 5, 1)
    h = F.relu(F.linear(h, p[R + 'fc1/W'], p[R + 'fc1/b']))
    hs = lstm_steps(h, R + 'lstm', 5)
    return F.stack([F.linear(v, p[R + 'classifier/W'], p[R + 'classifier/b']) for v in hs],
                   axis=1).array


def test_published_layout_file_loads_with_preset(tmp_path):
    path = str(tmp_path / 'published.npz')
    arrays = published_file(path)
    with pytest.raises(ValueError, match=r"no SEE configuration.*pass preset='svhn'"):
        load_model(path)
    model = load_model(path, preset='svhn')
    for key, value in model_io._model_arrays(model).items():
        numpy.testing.assert_array_equal(value, arrays[key], err_msg=key)
    assert model.localization_net.bn0.N == 7
    # plain Chainer loads it as well: the link names are the published ones
    plain = SEE(SEEConfig.preset('svhn'))
    chainer.serializers.load_npz(path, plain)
    x = numpy.random.RandomState(1).rand(3, 3, 64, 64).astype(numpy.float32)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        ours = model(x).logits.array
        numpy.testing.assert_array_equal(plain(x).logits.array, ours)
        expected = _functional_published_forward(arrays, x)
    numpy.testing.assert_allclose(ours[:, 0], expected, atol=1e-4, rtol=1e-4)
    # saved again with its configuration, it needs no preset any more
    save_model(model, str(tmp_path / 'with_config.npz'))
    again = load_model(str(tmp_path / 'with_config.npz'))
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        numpy.testing.assert_array_equal(again(x).logits.array, ours)


def test_layout_mismatches_are_listed(tmp_path):
    path = str(tmp_path / 'bad.npz')
    published_file(path, drop=('recognition_net/fc1/b',), extra=('recognition_net/fc2/W',),
                   reshape=(('localization_net/lstm/upward/W', (1024, 300)),))
    with pytest.raises(ValueError) as e:
        load_model(path, preset='svhn')
    msg = str(e.value)
    assert 'missing keys: recognition_net/fc1/b' in msg
    assert 'unexpected keys: recognition_net/fc2/W' in msg
    assert 'localization_net/lstm/upward/W: file (1024, 300), model (1024, 192)' in msg
    assert '\n' not in msg and isinstance(e.value, model_io.ModelFileError)
    # many missing keys: the first few are named, the rest counted, still one line
    path = str(tmp_path / 'few.npz')
    numpy.savez(path, **{'localization_net/conv0/W': numpy.zeros((32, 3, 3, 3), numpy.float32)})
    with pytest.raises(model_io.ModelFileError,
                       match=r'missing keys: (\S+, ){4}\S+ and \d+ more$'):
        load_model(path, preset='svhn')


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    model = SEE(SEEConfig.preset('svhn'))
    path = str(tmp_path / 'model.npz')
    with pytest.raises(ValueError, match='JSON-serialisable'):
        save_model(model, path, metadata={'when': object()})
    assert os.listdir(str(tmp_path)) == []
    save_model(model, path)
    before = open(path, 'rb').read()

    def broken(f, **arrays):
        f.write(b'half a file')
        raise IOError('disk full')
    monkeypatch.setattr(numpy, 'savez_compressed', broken)
    monkeypatch.setattr(numpy, 'savez', broken)
    with pytest.raises(IOError, match='disk full'):
        save_model(model, path)
    assert os.listdir(str(tmp_path)) == ['model.npz']
    assert open(path, 'rb').read() == before


def _damaged(tmp_path, kind):
    """A model file spoiled in one of the ways users meet, and what the error must say."""
    path = str(tmp_path / ('%s.npz' % kind))
    if kind in ('half', 'middle'):
        save_model(SEE(SEEConfig.preset('svhn')), path)
        data = bytearray(open(path, 'rb').read())
        if kind == 'half':                     # a copy interrupted half way
            data = data[:len(data) // 2]
        else:                                  # bytes lost in the middle: an array's CRC fails
            n = len(data) // 2
            data[n:n + 256] = bytes(256)
        open(path, 'wb').write(bytes(data))
        want = (r'truncated or damaged .npz model file \(File is not a zip file\)$'
                if kind == 'half' else
                r'truncated or damaged .npz model file: array \S+ cannot be read \(Bad CRC-32')
    elif kind == 'random':
        open(path, 'wb').write(numpy.random.RandomState(0).bytes(3000))
        want = r'not an .npz model file \(not a zip archive\)$'
    elif kind == 'text':
        open(path, 'w').write('not a model')
        want = r'not an .npz model file \(not a zip archive\)$'
    elif kind == 'empty':
        open(path, 'wb').close()
        want = r'empty file, not a model file$'
    elif kind == 'npy':
        numpy.save(open(path, 'wb'), numpy.zeros(3))
        want = r'a single .npy array, not an .npz model file$'
    elif kind == 'other-arrays':                   # a zip of arrays, none of them SEE's
        numpy.savez(path, weights=numpy.zeros(3), bias=numpy.ones(2))
        want = r'holds no SEE model: none of its 2 arrays \(bias, weights\) is a SEE weight'
    elif kind == 'zip':                            # a zip, but no arrays at all
        import zipfile
        with zipfile.ZipFile(path, 'w') as z:
            z.writestr('readme.txt', 'hello')
        want = r'holds no SEE model: none of its 1 arrays \(readme.txt\)'
    elif kind == 'missing':
        want = r'no such model file$'
    elif kind == 'folder':
        os.makedirs(path)
        want = r'is a folder, not a model file$'
    return path, want


DAMAGES = ('half', 'middle', 'random', 'text', 'empty', 'npy', 'other-arrays', 'zip',
           'missing', 'folder')


@pytest.mark.parametrize('kind', DAMAGES)
def test_unusable_files_raise_one_line_naming_the_file(tmp_path, kind):
    path, want = _damaged(tmp_path, kind)
    for read in (load_model, read_model_info):
        if kind == 'middle' and read is read_model_info:
            continue              # the configuration is intact; only the weights are hit
        with pytest.raises(model_io.ModelFileError) as e:
            read(path)
        msg = str(e.value)
        assert '\n' not in msg and msg.startswith(path + ': ')
        assert re.search(want, msg), msg
        assert isinstance(e.value, ValueError) and e.value.path == path


def test_future_format_and_bad_configuration(tmp_path):
    future = str(tmp_path / 'future.npz')
    numpy.savez(future, **{model_io.FORMAT_KEY: numpy.asarray(99)})
    with pytest.raises(model_io.ModelFileError, match='format 99 is newer'):
        read_model_info(future)
    bad = str(tmp_path / 'bad_config.npz')
    numpy.savez(bad, **{model_io.FORMAT_KEY: numpy.asarray(1),
                        model_io.CONFIG_KEY: numpy.asarray('{not json')})
    with pytest.raises(model_io.ModelFileError, match=r'bad_config.npz: bad stored configuration'):
        read_model_info(bad)


def test_package_exports():
    for name in ('SEE', 'SEEConfig', 'SEEOutput', 'save_model', 'load_model', 'read_model_info'):
        assert hasattr(chainer_see, name)


def test_model_files_are_stored_uncompressed_unless_asked(tmp_path):
    # zlib saves ~8 % of float32 weights for ten times the writing time (model_io.COMPRESS)
    import zipfile
    model = SEE(SEEConfig.preset('svhn'))
    plain, packed = str(tmp_path / 'plain.npz'), str(tmp_path / 'packed.npz')
    save_model(model, plain)
    save_model(model, packed, compress=True)
    kinds = {path: {i.compress_type for i in zipfile.ZipFile(path).infolist()}
             for path in (plain, packed)}
    assert kinds == {plain: {zipfile.ZIP_STORED}, packed: {zipfile.ZIP_DEFLATED}}
    a, b = load_model(plain), load_model(packed)
    for (name, p), (_, q) in zip(sorted(a.namedparams()), sorted(b.namedparams())):
        numpy.testing.assert_array_equal(p.array, q.array, err_msg=name)
