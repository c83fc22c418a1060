"""Every command of the ```bash blocks of README.md, docs/*.md and models/README.md
(``commands.DOCUMENTS``) is run by a test of this package or excluded here with a
reason; the extraction and the scale-down are checked on small texts."""
import ast
import os
import sys

import pytest

from tests.docs import commands
from tests.docs.commands import ROOT, commands_of, documented_commands
from tests.docs.runner import SMALL, argv_for

HERE = os.path.dirname(os.path.abspath(__file__))

DOWNLOAD = 'a download: nothing is downloaded in CI; the fixtures write files in its format'
#: the experiment runs of docs/results.md
EXPERIMENT = ('an experiment of docs/results.md: experiments/small_scale.py trains each run '
              'by time limit (25 to 240 minutes) and evaluates it and its baselines on a '
              'fixed 1,000 held-out images, minutes even with --minutes shortened; the '
              'commands it builds are checked by tests/test_experiments.py, and section '
              '1\'s train.py and evaluate.py commands and --summary-only run scaled down in '
              'tests/docs/test_results_doc.py')
#: the one table of documented commands that are not run, with the reason
EXCLUDED = {
    'python experiments/small_scale.py --only grid128-zoom --minutes grid128-zoom=95 '
    '--no-baselines': EXPERIMENT,
    'python experiments/small_scale.py --only grid128-zoom-replace '
    '--minutes grid128-zoom-replace=40 --no-baselines': EXPERIMENT,
    'python experiments/box_fraction.py --minutes 4': (
        'the issue-17 measurement (docs/results.md section 8): four training runs of 4 '
        'minutes and their evaluations on 1,000 held-out images; the runs it asks for and '
        'its table and plot are checked by tests/test_box_fraction_experiment.py'),
    'python experiments/head_comparison.py --minutes 25': (
        'the issue-20 comparison (docs/results.md section 10): three training runs of 25 '
        'minutes, their evaluations and a lexicon evaluation on 1,000 held-out images; '
        'the runs it asks for, its lexicon and its table are checked by '
        'tests/test_head_comparison.py'),
    'python experiments/box_fraction.py --set random --minutes 8': (
        'the issue-17 measurement on the random set (docs/results.md section 8): four '
        'runs of 8 minutes from the random128 run\'s model and their evaluations on 1,000 '
        'held-out images; the runs it asks for and its table are checked by '
        'tests/test_box_fraction_experiment.py'),
    'python experiments/small_scale.py --only grid128-from-crops '
    '--minutes grid128-from-crops=68 --no-baselines': EXPERIMENT,
    'python experiments/small_scale.py --only grid128-from-crops-area '
    '--minutes grid128-from-crops-area=55 --no-baselines': EXPERIMENT,
    'python experiments/small_scale.py --only svhn --minutes svhn=45 --no-baselines':
        'the run behind a zoo model (models/README.md): 45 minutes of training, then 1,000 '
        'held-out images; small_scale.py itself is run by tests/test_experiments.py',
    'python -m chainer_see.zoo add experiments/runs/grid128-from-random/model.npz '
    'synthetic-grid128':
        'writes into the committed models/ folder; the same CLI is run on a temporary '
        'folder by tests/test_zoo.py::test_the_cli_adds_and_lists',
    'python experiments/small_scale.py --only random128 --no-baselines': EXPERIMENT,
    'python experiments/small_scale.py --only grid128-from-random --no-baselines':
        'the run behind the zoo model synthetic-grid128 (models/README.md): 20 minutes '
        'from the random128-width1 run\'s model; ' + EXPERIMENT,
    'python experiments/small_scale.py --only random128-width1 --no-baselines':
        'the run behind the zoo model synthetic-random128 (models/README.md): 70 minutes '
        'from the random128 run\'s model; ' + EXPERIMENT,
    'python experiments/small_scale.py --jobs 2 --only random128-width1 random128-width3 '
    '--no-baselines': EXPERIMENT,
    'python -m chainer_see.zoo add experiments/runs/random128-width1/model.npz '
    'synthetic-random128':
        'writes into the committed models/ folder; the same CLI is run on a temporary '
        'folder by tests/test_zoo.py::test_the_cli_adds_and_lists',
    'python train.py --out experiments/runs/random128 --resume --time-limit 75':
        'the 25 more minutes of the random128 run behind the zoo model synthetic-random128 '
        '(needs that run\'s snapshots); train.py --resume is run on small runs by '
        'tests/training/test_resume.py',
    'python experiments/small_scale.py --jobs 2 --only random128-no-curriculum '
    'random128-restarts --minutes random128-no-curriculum=20 random128-restarts=20 '
    '--no-baselines': EXPERIMENT,
    'python -m chainer_see.zoo add experiments/runs/svhn/model.npz synthetic-svhn':
        'writes into the committed models/ folder; the same CLI is run on a temporary '
        'folder by tests/test_zoo.py::test_the_cli_adds_and_lists',
    'PIP_CONSTRAINT=constraints.txt pip install -e .':
        'installs the package: the test environment is installed once, never from a test',
    'PIP_CONSTRAINT=constraints.txt pip install -e ".[test]"':
        'installs the package and the test tools (as above)',
    'python -m pytest':
        'the test suite itself: running it from a test would recurse; CI runs it',
    'pip install -e ".[export]"':
        'installs the package with onnx and onnxruntime: the test environment is '
        'installed once (the test extra includes the export extra), never from a test',
    'python experiments/small_scale.py --only svhn': EXPERIMENT,
    'python experiments/small_scale.py --jobs 2 --only grid random-curriculum '
    'random-no-curriculum random-restarts --minutes grid=30 random-curriculum=30 '
    'random-no-curriculum=30 random-restarts=30': EXPERIMENT,
    'python experiments/small_scale.py --jobs 2 --only grid-reader grid-reader-area0.3 '
    '--minutes grid-reader=112 grid-reader-area0.3=112 --no-baselines': EXPERIMENT,
    'python experiments/small_scale.py --only grid-reader-hinge '
    '--minutes grid-reader-hinge=42 --no-baselines': EXPERIMENT,
    'python experiments/small_scale.py --jobs 2 --only grid-layout grid-reader-inside '
    '--no-baselines': EXPERIMENT,
    'python experiments/small_scale.py --jobs 2 --only grid-reader-outside10 '
    '--no-baselines': EXPERIMENT,
    'python experiments/small_scale.py --jobs 2 --only grid-layout grid-reader-outside10':
        'evaluates the starts of the two finished runs of the commands above (NAME/start), '
        'which need their hour-long runs first; ' + EXPERIMENT,
    'mpiexec -n 8 python train.py --mpi --gpus 0,1,2,3 --dataset fsns --out /shared/runs/fsns':
        'two machines with four GPUs each; ChainerMN itself is run with 2 CPU ranks by '
        'tests/training/test_mpi.py',
    'mpiexec -n 2 python train.py --mpi':
        'covered by tests/training/test_mpi.py (2 CPU ranks through mpiexec)',
    'mkdir -p SVHN': 'part of the download step (the fixture is SVHN/ itself)',
    'for split in train test extra; do\n'
    'wget -c -P SVHN http://ufldl.stanford.edu/housenumbers/$split.tar.gz\n'
    'tar -xzf SVHN/$split.tar.gz -C SVHN\n'
    'done': DOWNLOAD,
    'base=http://download.tensorflow.org/data/fsns-20160927': 'part of the FSNS download',
    'for i in $(seq -f %05g 0 511); do\n'
    'wget -c -P FSNS/train $base/train/train-$i-of-00512\n'
    'done': DOWNLOAD,
    'for i in $(seq -f %05g 0 63); do\n'
    'wget -c -P FSNS/validation $base/validation/validation-$i-of-00064\n'
    'wget -c -P FSNS/test $base/test/test-$i-of-00064\n'
    'done': DOWNLOAD,
}
#: documented commands that are the same run as another one that is run: the same
#: options once --gpus is dropped and the dataset's defaults are filled in (asserted below)
SAME_AS = {
    'python train.py --dataset fsns --data-dir data --gpus 0,1,2,3':
        'python train.py --dataset fsns --data-dir data --gpus 0',
    'python train.py --dataset svhn --data-dir data --gpus 0 --out runs/svhn':
        'python train.py --dataset svhn --data-dir data --gpus 0 --out runs/svhn '
        '--batch-size 32 --lr 1e-3 --weight-decay 5e-4 --clip 2 --iterations 20000',
    'python train.py --dataset fsns --data-dir data --gpus 0,1,2,3 --out runs/fsns '
    '--max-restarts 2':
        'python train.py --dataset fsns --data-dir data --gpus 0,1,2,3 --out runs/fsns '
        '--batch-size 8 --lr 1e-4 --weight-decay 5e-4 --clip 2 --iterations 300000 '
        '--curriculum-window 5 --curriculum-threshold 0.1 --max-restarts 2',
}
RUNNERS = ('run_doc',)


def _string(node):
    """The value of a string literal (implicit concatenation included), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _parametrized(func):
    """``{argument name: [string values]}`` of the ``pytest.mark.parametrize`` decorators
    of ``func``."""
    out = {}
    for dec in func.decorator_list:
        if not (isinstance(dec, ast.Call) and getattr(dec.func, 'attr', None) == 'parametrize'):
            continue
        names = [n.strip() for n in (_string(dec.args[0]) or '').split(',')]
        for case in getattr(dec.args[1], 'elts', []):
            values = case.elts if isinstance(case, ast.Tuple) else [case]
            for name, value in zip(names, values):
                if _string(value) is not None:
                    out.setdefault(name, []).append(_string(value))
    return out


def commands_run_by_tests():
    """``{command text: [test module]}``: the commands that ``run_doc(...)`` calls in the
    test modules of this package run: a string literal, a module-level string constant,
    or a parameter of the test's ``parametrize``."""
    found = {}
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith('test_') and name.endswith('.py')):
            continue
        tree = ast.parse(open(os.path.join(HERE, name), encoding='utf-8').read())
        constants = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and _string(node.value):
                constants[node.targets[0].id] = [_string(node.value)]
        for func in tree.body:
            if not isinstance(func, ast.FunctionDef):
                continue
            names = dict(constants, **_parametrized(func))
            for node in ast.walk(func):
                if not (isinstance(node, ast.Call) and getattr(node.func, 'id', None) in RUNNERS
                        and node.args):
                    continue
                arg = node.args[0]
                texts = [_string(arg)] if _string(arg) is not None else \
                    names.get(getattr(arg, 'id', None), [])
                for text in texts:
                    found.setdefault(commands.normalize(text), []).append(name)
    return found


def test_every_documented_command_is_run_or_excluded_with_a_reason():
    documented = {c.text: c for c in documented_commands()}
    run = commands_run_by_tests()
    missing = ['%s:%d: %s' % (c.doc, c.line, t) for t, c in documented.items()
               if t not in run and t not in EXCLUDED and t not in SAME_AS]
    assert not missing, ('documented commands neither run by a test of tests/docs nor in '
                         'EXCLUDED with a reason:\n  ' + '\n  '.join(missing))
    stale = sorted(set(EXCLUDED) - set(documented)) + sorted(set(SAME_AS) - set(documented))
    assert not stale, 'excluded commands no longer documented: %s' % stale
    unknown = sorted(set(run) - set(documented))
    assert not unknown, 'tests run commands the documents no longer have: %s' % unknown
    assert not set(run) & set(EXCLUDED)
    for reason in EXCLUDED.values():
        assert len(reason) > 20


def train_options(text):
    """The options ``train.py`` runs ``text`` (a documented command) with, before scaling
    down: parsed by its parser, per-dataset defaults filled in, devices dropped."""
    from chainer_see.training.build import dataset_defaults
    from chainer_see.training.cli import build_parser
    argv = argv_for(text)
    assert argv[1] == os.path.join(ROOT, 'train.py')
    argv = argv[2:len(argv) - len(SMALL['train.py'])]
    options = vars(build_parser().parse_args(argv))
    for key, value in dataset_defaults(options['dataset']).items():
        if options.get(key) is None:
            options[key] = value
    return options


def test_commands_listed_as_the_same_run_have_the_same_options():
    run = commands_run_by_tests()
    for text, same in SAME_AS.items():
        assert same in run, '%r is not run by any test' % same
        assert train_options(text) == train_options(same)
    assert train_options('python train.py --dataset fsns') != train_options(
        'python train.py --dataset fsns --max-restarts 2')


def test_readme_every_doc_and_the_models_readme_are_read():
    assert commands.DOCUMENTS[0] == 'README.md'
    docs = sorted(n for n in os.listdir(os.path.join(ROOT, 'docs')) if n.endswith('.md'))
    assert [os.path.join('docs', n) for n in docs] == \
        [d for d in commands.DOCUMENTS if d.startswith('docs' + os.sep)]
    assert {'README.md', os.path.join('docs', 'reproduce.md'),
            os.path.join('docs', 'export.md')} <= {c.doc for c in documented_commands()}


def test_a_new_doc_and_models_readme_are_found(tmp_path):
    (tmp_path / 'docs').mkdir()
    for name in ('b.md', 'a.md', 'notes.txt'):
        (tmp_path / 'docs' / name).write_text('x')
    assert commands.find_documents(str(tmp_path)) == (
        'README.md', os.path.join('docs', 'a.md'), os.path.join('docs', 'b.md'))
    (tmp_path / 'models').mkdir()
    (tmp_path / 'models' / 'README.md').write_text('x')
    assert commands.find_documents(str(tmp_path))[-1] == os.path.join('models', 'README.md')


DOC = '''Text.

```bash
# a comment line
python train.py --dataset svhn \\
    --gpus 0 --out runs/x   # trailing comment
pip install -e . && python train.py --help; echo done
{ head -n 1 a.tsv
  tail -n +2 a.tsv | sed 's|^|x/|'; } > b.tsv
for i in 1 2; do
    echo "$i # not a comment"
done
```

```python
print('not shell')
```
'''


def test_extraction_joins_continuations_drops_comments_splits_lists_keeps_groups():
    got = [(c.line, c.text, c.kind) for c in commands_of(DOC, 'X.md')]
    assert got == [
        (5, 'python train.py --dataset svhn --gpus 0 --out runs/x', 'simple'),
        (7, 'pip install -e .', 'simple'),
        (7, 'python train.py --help', 'simple'),
        (7, 'echo done', 'simple'),
        (8, "{ head -n 1 a.tsv\ntail -n +2 a.tsv | sed 's|^|x/|'; } > b.tsv", 'shell'),
        (10, 'for i in 1 2; do\necho "$i # not a comment"\ndone', 'shell'),
    ]


def test_a_quoted_newline_continues_the_command_and_stays_in_it():
    doc = '```bash\npython -c "import sys; print(1 +\n2)" a.csv   # c\necho b\n```\n'
    got = [(c.line, c.text, c.kind) for c in commands_of(doc, 'X.md')]
    assert got == [(2, 'python -c "import sys; print(1 +\n2)" a.csv', 'simple'),
                   (4, 'echo b', 'simple')]
    assert commands.normalize('python  -c "import sys; print(1 +\n2)"   a.csv') == got[0][1]
    assert argv_for(got[0][1])[1:] == ['-c', 'import sys; print(1 +\n2)', 'a.csv']
    with pytest.raises(ValueError, match='unbalanced quote'):
        commands_of('```bash\npython -c "print(1)\n```\n', 'X.md')


def test_an_unterminated_block_or_group_is_an_error():
    with pytest.raises(ValueError):
        commands_of('```bash\npython x.py\n', 'X.md')
    with pytest.raises(ValueError):
        commands_of('```bash\n{ echo a\necho b\n```\n', 'X.md')


def test_scale_down_appends_small_options_after_the_documents_and_drops_devices():
    argv = argv_for('python train.py --dataset svhn --gpus 0 --out x --iterations 20000')
    assert argv[:2] == [sys.executable, os.path.join(ROOT, 'train.py')]
    assert argv[2:] == ['--dataset', 'svhn', '--out', 'x', '--iterations', '20000'] + \
        SMALL['train.py']
    assert argv_for('python evaluate.py m.npz --gpu 0 --count 500')[2:] == \
        ['m.npz', '--count', '500'] + SMALL['evaluate.py']
    assert argv_for('python train.py --help')[2:] == ['--help']
    assert argv_for('python -m chainer_see.evaluation.visual_backprop m.npz a.png')[1:] == \
        ['-m', 'chainer_see.evaluation.visual_backprop', 'm.npz', 'a.png']
    assert argv_for('python datasets/svhn/prepare.py crops A B', ['--x'])[1:] == \
        [os.path.join(ROOT, 'datasets/svhn/prepare.py'), 'crops', 'A', 'B'] + \
        SMALL['prepare.py'] + ['--x']


def test_command_lookup_fails_for_a_text_the_documents_do_not_have():
    assert commands.command('python train.py --help').doc == 'README.md'
    with pytest.raises(AssertionError, match='not a command'):
        commands.command('python train.py --no-such-option')
