import sys

import pytest

from chainer_see import runtime


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc only')
def test_tune_malloc_applies_every_setting_and_is_idempotent():
    # mallopt returns 0 for a setting it refuses; tune_malloc reports that as False
    assert runtime.tune_malloc() is True
    assert runtime.tune_malloc() is True
