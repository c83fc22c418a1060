"""docs/export.md's commands: export.py on a model file, predict.py --backend onnxruntime
on the exported file alone (the same words and boxes as the Chainer model), and
bench_inference.py --onnxruntime, scaled down by its options (runner.SMALL)."""
import json
import os
import re

import numpy
import pytest

from tests.docs import checks, fixtures
from tests.docs.runner import run_doc

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

pytestmark = pytest.mark.slow

EXPORT = 'python export.py result/model.npz see.onnx'
PREDICT = 'python predict.py --backend onnxruntime see.onnx photo.jpg scan.png'
BENCH = 'python benchmarks/bench_inference.py --onnxruntime'

#: ``  1  42    confidence 0.5  box (1.0, 2.0, 3.0, 4.0)`` (one box per view)
WORD_LINE = re.compile(r'^  (\d+)  (\S+)\s+confidence \S+  box (.*)$')


def printed_words(stdout):
    """``{image name: [(word, [box floats])]}`` of predict.py's text output."""
    out, current = {}, None
    for line in stdout.splitlines():
        if line and not line.startswith(' '):
            current = out.setdefault(line.split('  (')[0], [])
            continue
        m = WORD_LINE.match(line)
        if m:
            box = [float(v) for v in re.findall(r'-?\d+\.\d', m.group(3))]
            current.append(('' if m.group(2) == '-' else m.group(2), box))
    return out


def test_export_then_predict_with_onnxruntime_then_benchmark(workdir, photo_source):
    import onnx
    from chainer_see import load_model
    from chainer_see.evaluation.predict import predict
    from tests.evaluation import helpers as h

    cwd = workdir(photos=photo_source)
    (cwd / 'result').mkdir()
    # a small model file in train.py's format; weights that read varied words
    h.save(h.fixed_model(h.tiny_svhn_config()), str(cwd / 'result' / 'model.npz'),
           dataset='synthetic-svhn')

    proc = run_doc(EXPORT, cwd)
    assert proc.stdout.startswith('wrote see.onnx') and 'onnxruntime = Chainer' in proc.stdout
    proto = onnx.load(str(cwd / 'see.onnx'))
    onnx.checker.check_model(proto)
    assert [o.name for o in proto.graph.output] == ['logits', 'boxes', 'grids']
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props['see.image_size']) == [40, 40]
    svhn = fixtures.char_map_json('svhn')          # read here from datasets/char_maps
    assert json.loads(props['see.char_map'])[1:] == [svhn[i] for i in range(1, len(svhn))]
    assert json.loads(props['see.model_metadata'])['dataset'] == 'synthetic-svhn'

    # the .onnx file alone: the model file is gone
    (cwd / 'result' / 'model.npz').rename(cwd / 'model-elsewhere.npz')
    proc = run_doc(PREDICT, cwd)
    checks.check_predictions(cwd, proc.stdout, ['photo.jpg', 'scan.png'])
    got = printed_words(proc.stdout)
    chainer = predict(load_model(str(cwd / 'model-elsewhere.npz')),
                      [str(cwd / 'photo.jpg'), str(cwd / 'scan.png')])
    assert sorted(got) == ['photo.jpg', 'scan.png']
    for p in chainer:
        name = os.path.basename(p.path)
        assert [w for w, _ in got[name]] == list(p.words), name
        boxes = numpy.array([b for _, b in got[name]])
        numpy.testing.assert_allclose(boxes, p.boxes, atol=0.06)   # printed to 0.1 px
    assert any(w for p in chainer for w in p.words), 'nothing read: the test compares blanks'

    proc = run_doc(BENCH, cwd)
    rows = [line for line in proc.stdout.splitlines() if line.startswith('| svhn |')]
    assert len(rows) == 1, proc.stdout
    cells = [c.strip() for c in rows[0].strip('|').split('|')]
    assert cells[:5] == ['svhn', '64x64', '1', '1', '2']
    assert float(cells[5]) > 0 and float(cells[6]) > 0 and cells[7].endswith('x')
    assert float(cells[8]) < 1e-4       # largest difference onnxruntime vs Chainer
