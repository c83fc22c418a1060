"""The model zoo: trained models committed under ``models/``, called by name.

``models/NAME.npz`` is the model ``NAME``; ``evaluate.py NAME`` and ``predict.py NAME
photo.png`` take the name where they take a path.  An existing file of that name wins
over the zoo.  Zoo files store their weights in float16 (half the size, under the 10 MB
a repository file may have); they load into the usual float32 model, and
``tests/test_zoo.py`` checks that the predictions do not change.

Add a model (its metadata, the options it was trained with, travels along)::

    python -m chainer_see.zoo add experiments/runs/svhn/model.npz synthetic-svhn
    python -m chainer_see.zoo list
"""
import argparse
import glob
import os
import sys

import numpy

from chainer_see.model_io import load_model
from chainer_see.model_io import read_model_info
from chainer_see.model_io import save_model

#: the repository's ``models/`` folder
ZOO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'models')
#: the dtype zoo files store their floating-point arrays in
STORED_DTYPE = numpy.float16


def names(folder=None):
    """Names of the zoo's models, sorted."""
    folder = folder or ZOO_DIR
    return sorted(os.path.splitext(os.path.basename(p))[0]
                  for p in glob.glob(os.path.join(folder, '*.npz')))


def resolve(model, folder=None):
    """The file ``model`` names: itself when it exists (or looks like a path), else the
    zoo's ``models/NAME.npz`` when there is one; otherwise ``model`` unchanged, and
    loading it fails with the usual 'no such model file' (see :func:`missing_hint`)."""
    folder = folder or ZOO_DIR
    if os.path.exists(model) or os.sep in model or model.endswith('.npz'):
        return model
    path = os.path.join(folder, model + '.npz')
    return path if os.path.exists(path) else model


def missing_hint(folder=None):
    """What to say after 'no such model file': the names that would have worked."""
    folder = folder or ZOO_DIR
    found = names(folder)
    if not found:
        return 'not a file; the model zoo (%s) is empty' % folder
    return 'neither a file nor a zoo model (%s)' % ', '.join(found)


def add(source, name, folder=None):
    """Store the model file ``source`` as the zoo model ``name`` (float16 weights, its
    metadata kept, plus ``zoo``: where it came from).  Returns the new path."""
    folder = folder or ZOO_DIR
    if not name or os.sep in name or name.endswith('.npz'):
        raise ValueError('a zoo name is a plain name like synthetic-grid, got %r' % name)
    model = load_model(source)
    metadata = dict(read_model_info(source).metadata or {})
    metadata['zoo'] = {'name': name, 'source': os.path.abspath(source),
                       'stored_dtype': numpy.dtype(STORED_DTYPE).name}
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + '.npz')
    save_model(model, path, metadata=metadata, dtype=STORED_DTYPE, compress=True)
    return path


def describe(name, folder=None):
    """One line: name, size, dataset, iteration, and what it learned from."""
    folder = folder or ZOO_DIR
    path = os.path.join(folder, name + '.npz')
    meta = read_model_info(path).metadata or {}
    sup = meta.get('supervision') or {}
    starts = ', '.join('%s from %s' % (part, s.get('dataset'))
                       for part, s in sorted((sup.get('started_from') or {}).items()))
    return '%-18s %5.1f MB  %s, iteration %s; box labels: %s, layout prior: %s%s' % (
        name, os.path.getsize(path) / 1e6, meta.get('dataset'), meta.get('iteration'),
        'yes' if sup.get('box_labels') else 'no', 'yes' if sup.get('layout_prior') else 'no',
        '; started: ' + starts if starts else '')


def main(argv=None):
    p = argparse.ArgumentParser(
        prog='python -m chainer_see.zoo',
        description='The model zoo (models/NAME.npz): list it, or add a trained model.')
    sub = p.add_subparsers(dest='command', required=True)
    sub.add_parser('list', help='one line per zoo model')
    a = sub.add_parser('add', help='store MODEL_NPZ as models/NAME.npz (float16 weights)')
    a.add_argument('source', metavar='MODEL_NPZ')
    a.add_argument('name', metavar='NAME')
    args = p.parse_args(argv)
    from chainer_see.data.errors import DataError
    try:
        if args.command == 'add':
            path = add(args.source, args.name)
            print('%s (%.1f MB)' % (path, os.path.getsize(path) / 1e6))
        for name in names():
            print(describe(name))
    except (DataError, ValueError) as e:
        print('error: %s' % e, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
