"""atomic_file: the target is replaced only by a complete file; a failed write leaves the
old contents and no temporary file behind."""
import os

import pytest

from chainer_see import atomic


def test_success_replaces_the_target_with_normal_permissions(tmp_path):
    path = tmp_path / 'sub' / 'a.txt'
    atomic.write_text(str(path), 'old\n')
    with atomic.atomic_file(str(path), 'w', sync=True) as f:
        f.write('new\n')
    assert path.read_text() == 'new\n'
    assert os.listdir(str(path.parent)) == ['a.txt']
    assert oct(os.stat(str(path)).st_mode & 0o777) == oct(0o666 & ~atomic._umask())


def test_error_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / 'a.bin'
    path.write_bytes(b'old')
    with pytest.raises(RuntimeError):
        with atomic.atomic_file(str(path)) as f:
            f.write(b'half')
            raise RuntimeError('killed mid-write')
    assert path.read_bytes() == b'old'
    assert os.listdir(str(tmp_path)) == ['a.bin']
