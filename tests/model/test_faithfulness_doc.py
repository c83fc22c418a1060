"""docs/faithfulness.md: every test it names exists, and the optimizer row holds."""
import os
import re

import numpy

import chainer
import chainer.links as L

from chainer_see.training import build
from chainer_see.training.optimizer import make_optimizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, 'docs', 'faithfulness.md')


def _named_tests():
    text = open(DOC, encoding='utf-8').read()
    return sorted(set(re.findall(r'`([\w/]+\.py)::(\w+)`', text)))


def test_every_named_test_exists():
    named = _named_tests()
    assert len(named) > 20
    missing = []
    for path, name in named:
        full = os.path.join(ROOT, 'tests', path)
        source = open(full, encoding='utf-8').read() if os.path.exists(full) else ''
        if not re.search(r'^def %s\(' % name, source, re.M):
            missing.append('%s::%s' % (path, name))
    assert not missing, 'docs/faithfulness.md names tests that do not exist: %s' % missing


def test_optimizer_is_adam_with_the_published_hooks():
    """train_fsns.py: Adam, WeightDecay(5e-4), GradientClipping(2); train.py's defaults
    are the same hooks with the same values."""
    defaults = build.default_options()
    assert (defaults.weight_decay, defaults.clip) == (5e-4, 2.0)
    link = L.Linear(3, 2)
    opt = make_optimizer(link, lr=1e-4, weight_decay=defaults.weight_decay,
                         clip=defaults.clip)
    assert isinstance(opt, chainer.optimizers.Adam) and opt.alpha == 1e-4
    hooks = dict(opt._hookable._pre_update_hooks)            # name -> hook, in order
    assert hooks['WeightDecay'].rate == 5e-4
    assert hooks['GradientClipping'].threshold == 2.0
    # the clipping acts on the global norm: a gradient of norm 20 is scaled to norm 2
    link.W.grad = numpy.full(link.W.shape, 20 / numpy.sqrt(link.W.size), numpy.float32)
    link.b.grad = numpy.zeros(link.b.shape, numpy.float32)
    hooks['GradientClipping'](opt)
    assert abs(numpy.linalg.norm(link.W.grad) - 2.0) < 1e-5
