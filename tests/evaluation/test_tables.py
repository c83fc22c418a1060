"""The paper's tables with this model's row, and which table fits which dataset."""
from chainer_see import SEEConfig
from chainer_see.evaluation import tables


def test_table_selection():
    svhn, fsns = SEEConfig.preset('svhn'), SEEConfig.preset('fsns')
    grid = SEEConfig.preset('svhn-grid')
    assert tables.table_for('svhn', svhn) == (tables.TABLE1, 'paper')
    assert tables.table_for('fsns', fsns) == (tables.TABLE2, 'paper')
    assert tables.table_for('synthetic-svhn', svhn) == (tables.TABLE1, 'synthetic')
    assert tables.table_for('synthetic-fsns', fsns) == (tables.TABLE2, 'synthetic')
    assert tables.table_for('synthetic-grid', grid) == (None, 'synthetic')
    assert tables.table_for('data/x/gt.tsv', fsns) == (tables.TABLE2, 'file')
    assert tables.table_for('data/x/gt.tsv', svhn) == (tables.TABLE1, 'file')
    assert tables.table_for('data/x/gt.tsv', grid) == (None, 'file')


def test_paper_figures():
    assert dict(tables.TABLE1.rows) == {'Goodfellow et al. (2014)': 96.0,
                                        'Jaderberg et al. (2015), STN': 96.3,
                                        'SEE, Bartz et al. (2018)': 95.2}
    assert dict(tables.TABLE2.rows) == {'Smith et al. (2016)': 72.5,
                                        'Wojna et al. (2017)': 84.2,
                                        'SEE, Bartz et al. (2018)': 78.0}


def test_model_row_and_notes():
    label = tables.model_row_label('fsns', 123456)
    assert label == 'this model (fsns, 123,456 iterations)'
    text = tables.format_table(tables.TABLE2, 'paper', 0.7812, label)
    lines = text.splitlines()
    assert lines[0] == 'Table 2 of the paper: FSNS test set, sequence accuracy'
    assert lines[-1].split() == ['this', 'model', '(fsns,', '123,456', 'iterations)', '78.1', '%']
    synthetic = tables.format_table(tables.TABLE1, 'synthetic', 0.5, 'this model (x)')
    assert 'this model (x) *' in synthetic and 'SYNTHETIC' in synthetic.splitlines()[-1]
    assert 'n/a' in tables.format_table(tables.TABLE1, 'file', float('nan'), 'm')
