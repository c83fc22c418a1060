"""Table 2 (FSNS) as README.md and docs/reproduce.md give it, on FSNS TFRecord shards:
convert, train with the curriculum and restarts, move to the next level by hand, resume,
evaluate; the restart from another run's localization; README's GPU lines."""
import json
import os

import pytest

from tests.docs import checks
from tests.docs.runner import FSNS_SMALL, run_doc

pytestmark = pytest.mark.slow

PREPARE = ('python datasets/fsns/prepare.py FSNS data/fsns --min-words 1 --max-words 4 '
           '--max-chars 21')


def _prepared(cwd, texts):
    """data/fsns: one level file per word count with exactly k words, curriculum.json
    over them, test.tsv with every test sign, labels that spell the texts (char map
    with FSNS's null/space swap undone), conversion.json."""
    root = os.path.join(str(cwd), 'data', 'fsns')
    levels = json.load(open(os.path.join(root, 'curriculum.json')))
    # a level for each word count k with train and validation signs of exactly k words
    counts = [{len(x.split(' ')) for x in texts[split]} for split in ('train', 'validation')]
    assert len(levels) == len(counts[0] & counts[1]) == 4
    for k, level in enumerate(levels, 1):
        for split in ('train', 'validation'):
            n, t, rows = checks.read_words_gt(os.path.join(root, level[split]), 'fsns')
            assert (n, t) == (k, 21)
            want = sorted(x.split(' ') for x in texts[split] if len(x.split(' ')) == k)
            assert sorted(words for _, words in rows) == want, (level[split], rows)
    conversion = json.load(open(os.path.join(root, 'conversion.json')))
    assert conversion
    n, t, rows = checks.read_words_gt(os.path.join(root, 'test.tsv'), 'fsns')
    assert (n, t) == (4, 21)
    assert sorted(' '.join(w) for _, w in rows) == sorted(texts['test'])
    for path, _ in rows:
        assert os.path.exists(os.path.join(root, path))
    return rows


def test_table2_convert_curriculum_next_level_resume_evaluate_restart(workdir, fsns_source):
    cwd = workdir(fsns=fsns_source)
    run_doc(PREPARE, cwd, doc='docs/reproduce.md')
    test_rows = _prepared(cwd, fsns_source[1])

    run_doc('python train.py --dataset fsns --data-dir data --gpus 0,1,2,3 --out runs/fsns '
            '--batch-size 8 --lr 1e-4 --weight-decay 5e-4 --clip 2 --iterations 300000 '
            '--curriculum-window 5 --curriculum-threshold 0.1 --max-restarts 2', cwd,
            extra=FSNS_SMALL)
    run = str(cwd / 'runs' / 'fsns')
    _, meta, _ = checks.check_run_folder(run, 2, 'fsns')
    assert meta['level'] == 0

    # "move on to the next curriculum level now": the resumed run honours the file
    run_doc('touch runs/fsns/next_level', cwd)
    run_doc('python train.py --out runs/fsns --resume', cwd, extra=['--iterations', '3'])
    _, meta, log = checks.check_run_folder(run, 3, 'fsns')
    assert meta['level'] == 1, 'next_level was not honoured: %s' % meta
    assert not os.path.exists(os.path.join(run, 'next_level'))

    proc = run_doc('python evaluate.py runs/fsns/model.npz --gpu 0 --batch-size 64 '
                   '--out runs/fsns/eval --visualize 20', cwd)
    report = checks.check_report(os.path.join(run, 'eval'), len(test_rows),
                                 visualized=len(test_rows))
    assert report['dataset']['size'] == len(test_rows)
    assert '78.0' in proc.stdout, 'Table 2 (paper row 78.0 %) not printed'
    # README's short recipe: its training is the run above (same options, checked by
    # test_documented_commands.py), its evaluation replaces runs/fsns/eval
    run_doc('python evaluate.py runs/fsns/model.npz --gpu 0 --batch-size 64 '
            '--out runs/fsns/eval', cwd)
    checks.check_report(os.path.join(run, 'eval'), len(test_rows))

    run_doc('python train.py --dataset fsns --data-dir data --gpus 0,1,2,3 '
            '--out runs/fsns-restart --load-localization runs/fsns/model.npz --batch-size 8 '
            '--lr 1e-4 --weight-decay 5e-4 --clip 2 --iterations 300000', cwd, extra=FSNS_SMALL)
    config, _, _ = checks.check_run_folder(str(cwd / 'runs' / 'fsns-restart'), 2, 'fsns')
    assert config['options']['load_localization'].endswith('runs/fsns/model.npz')
    run_doc('python evaluate.py runs/fsns-restart/model.npz --gpu 0 --batch-size 64 '
            '--out runs/fsns-restart/eval', cwd)
    checks.check_report(str(cwd / 'runs' / 'fsns-restart' / 'eval'), len(test_rows))


def test_readme_gpu_lines_and_fsns_files_with_char_map(workdir, fsns_source):
    cwd = workdir(fsns=fsns_source)
    run_doc(PREPARE, cwd, doc='README.md')
    _prepared(cwd, fsns_source[1])
    # "one GPU"; "4 GPUs, one machine" is the same run once --gpus is dropped
    # (test_documented_commands.py checks it)
    run_doc('python train.py --dataset fsns --data-dir data --gpus 0', cwd, extra=FSNS_SMALL)
    checks.check_run_folder(str(cwd / 'result'), 2, 'fsns')

    # README "your own data": the converted FSNS files as files, char map and model named
    run_doc('python train.py --dataset data/fsns/curriculum.json --char-map fsns --model fsns '
            '--out runs/fsns-files', cwd, extra=FSNS_SMALL)
    _, meta, _ = checks.check_run_folder(str(cwd / 'runs' / 'fsns-files'), 2,
                                         'data/fsns/curriculum.json')
    assert meta['model_preset'] == 'fsns'
