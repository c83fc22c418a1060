"""Session fixtures of the documented-command tests: the real-format inputs are built
once; every test runs its commands in a fresh folder of its own where they appear
under the names the documents use (``SVHN/``, ``FSNS/``, ``own/``, ``photo.jpg`` ...)."""
import os
import shutil

import pytest

from tests.docs import fixtures
from tests.docs.runner import TIMES


@pytest.fixture(scope='session')
def svhn_source(tmp_path_factory):
    """SVHN "format 1": ``train/``, ``test/``, ``extra/`` with N.png and digitStruct.mat;
    returns ``(root, {split: [(file name, number)]})``."""
    root = str(tmp_path_factory.mktemp('svhn-download'))
    return root, fixtures.svhn_root(root)


@pytest.fixture(scope='session')
def fsns_source(tmp_path_factory):
    """FSNS TFRecord shards for train, validation and test; ``(root, {split: [text]})``."""
    root = str(tmp_path_factory.mktemp('fsns-download'))
    return root, fixtures.fsns_root(root)


@pytest.fixture(scope='session')
def own_source(tmp_path_factory):
    """A user's own ground truth in every layout; ``(root, description)``."""
    root = str(tmp_path_factory.mktemp('own-data'))
    return root, fixtures.own_data(root)


@pytest.fixture(scope='session')
def photo_source(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('photos'))
    fixtures.photo_and_scan(root)
    return root


def _drop_weights(folder):
    """Model and snapshot files are large (an FSNS snapshot is ~220 MB): remove them
    once a test is done, the rest of its folder stays for a look."""
    for dirpath, _, names in os.walk(folder):
        for name in names:
            if name.endswith('.npz'):
                os.remove(os.path.join(dirpath, name))


@pytest.fixture
def workdir(tmp_path):
    """``make(svhn=, fsns=, own=, photos=, own_name='own')`` -> a fresh folder to run
    documented commands in, with the inputs given (session fixtures) under their
    documented names: ``SVHN/``, ``FSNS/`` (links), ``OWN_NAME/`` and the photos (copies)."""
    made = []

    def make(name='cwd', svhn=None, fsns=None, own=None, photos=None, own_name='own'):
        cwd = tmp_path / name
        cwd.mkdir()
        if svhn:
            os.symlink(svhn[0], str(cwd / 'SVHN'))
        if fsns:
            os.symlink(fsns[0], str(cwd / 'FSNS'))
        if own:
            shutil.copytree(own[0], str(cwd / own_name))
        if photos:
            for f in os.listdir(photos):
                shutil.copy(os.path.join(photos, f), str(cwd / f))
        made.append(cwd)
        return cwd

    yield make
    for cwd in made:
        _drop_weights(str(cwd))


def pytest_terminal_summary(terminalreporter):
    if TIMES:
        terminalreporter.section('documented commands: slowest runs')
        for seconds, label in sorted(TIMES, reverse=True)[:12]:
            terminalreporter.write_line('%6.1f s  %s' % (seconds, label[:150]))
        terminalreporter.write_line('%6.1f s  all %d runs' % (sum(t for t, _ in TIMES),
                                                              len(TIMES)))
