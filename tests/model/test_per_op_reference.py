"""reference_ops(only=...): each fast operation can be switched to its plain version on
its own (the per-op ablation of benchmarks/bench_model.py), and gives the same numbers."""
import numpy
import pytest

import chainer

from benchmarks import bench_model
from chainer_see.links import ops
from chainer_see.links import reference_ops
from tests.evaluation import helpers as h


def test_only_the_named_operations_run_plain():
    assert not ops.using_reference_ops('conv')
    with reference_ops(only=('conv', 'sampler')):
        assert ops.using_reference_ops('conv') and ops.using_reference_ops('sampler')
        assert not ops.using_reference_ops('pooling')
        assert not ops.using_reference_ops()          # not every operation
    with reference_ops(only=ops.OPS):
        assert ops.using_reference_ops()
    with reference_ops():
        assert all(ops.using_reference_ops(op) for op in ops.OPS)
    with reference_ops(only=()):
        assert not any(ops.using_reference_ops(op) for op in ops.OPS)
    with pytest.raises(ValueError, match='unknown operation.*convolution'):
        with reference_ops(only=('convolution',)):
            pass


def _nodes(model, x):
    with chainer.using_config('train', True):
        out = model(x)
    seen, stack, names = set(), [out.logits.creator_node], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.add(node.label)
        stack.extend(v.creator_node for v in node.inputs)
    return out, names


@pytest.mark.parametrize('op, plain, fast', [
    ('conv', 'Convolution2DFunction', 'Conv2DCPU'),
    ('sampler', 'SpatialTransformerSampler', 'MultiGridSampler'),
])
def test_one_switched_operation_changes_its_nodes_only_and_not_the_numbers(op, plain, fast):
    model, _, x, _ = bench_model.step_inputs('svhn', h.tiny_svhn_config(), 2)
    numpy.random.seed(0)
    ref, names = _nodes(model, x)
    assert fast in names and plain not in names
    numpy.random.seed(0)
    with reference_ops(only=(op,)):
        got, switched = _nodes(model, x)
    assert plain in switched and fast not in switched
    numpy.testing.assert_allclose(got.logits.array, ref.logits.array, rtol=1e-4, atol=1e-4)


def test_ablation_table_marks_what_pays(capsys, monkeypatch):
    fake = {op: (10.0, 10.0 / r) for op, r in zip(ops.OPS, (1.5, 1.1, 1.0, 1.16))}
    bench_model.ablation_table({'svhn': fake, 'svhn-grid': fake}, 3)
    out = capsys.readouterr().out
    assert '| conv | 1.50x | 1.50x | yes |' in out
    assert '| pooling | 1.10x | 1.10x | no |' in out
    assert '| batch_norm | 1.00x | 1.00x | no |' in out
    assert '| sampler | 1.16x | 1.16x | yes |' in out
    assert 'median of 3 interleaved repeats' in out


def test_ablation_runs_every_operation_on_a_tiny_model():
    res = bench_model.ablation('svhn', 2, 1, 0, config=h.tiny_svhn_config())
    assert sorted(res) == sorted(ops.OPS + tuple(bench_model.GROUPS))
    assert all(a > 0 and b > 0 for a, b in res.values())
