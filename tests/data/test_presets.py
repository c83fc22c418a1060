import json
import os

import numpy as np
import pytest

from chainer_see.data import presets
from chainer_see.data.synthetic import SyntheticDataset, write_dataset


def test_every_preset_names_an_existing_model_and_loss_preset():
    from chainer_see.config import SEEConfig
    from chainer_see.training.loss import SEELoss
    for p in presets.PRESETS.values():
        cfg = SEEConfig.preset(p.model)
        SEELoss.preset(p.loss, cfg)
        if p.synthetic:
            ds = SyntheticDataset(p.kind, 1, **p.levels[-1])
            # the 128x128 analogues are read by the svhn-grid model built for their size
            assert ds.image_size == (cfg.image_size if '128' not in p.name
                                     else (128, 128)), p.name
            assert len(ds.char_map) == cfg.num_classes, p.name


def test_synthetic_random_curriculum_has_one_level_per_number_count():
    levels = presets.curriculum_levels('synthetic-random', validation_size=8)
    assert [lv.name for lv in levels] == ['synthetic-random-%d' % k for k in (1, 2, 3, 4)]
    for k, lv in enumerate(levels, 1):
        assert lv.train.num_words == k and lv.validation.num_words == k
        x, t = lv.validation[0]
        assert ((t != 0).any(axis=1)).sum() == k     # exactly k numbers in the image
        assert len(lv.validation) == 8


def test_validation_and_test_images_differ_from_training_images():
    lv, = presets.curriculum_levels('synthetic-svhn', seed=0, validation_size=4)
    test = presets.evaluation_dataset('synthetic-svhn', count=4)
    train_images = np.stack([lv.train[i][0] for i in range(4)])
    for other in (lv.validation, test):
        for i in range(4):
            assert not np.any(np.all(np.isclose(train_images, other[i][0]), axis=(1, 2, 3)))
    assert presets.evaluation_dataset('synthetic-svhn', count=4)[3][0].tobytes() == test[3][0].tobytes()


def test_synthetic_test_set_mixes_all_levels():
    test = presets.evaluation_dataset('synthetic-random', count=40)
    counts = {int((test[i][1] != 0).any(axis=1).sum()) for i in range(40)}
    assert counts == {1, 2, 3, 4}


def test_missing_real_data_names_the_converter(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'prepare\.py crops SVHN/train %s/svhn/train'
                       % str(tmp_path)):
        presets.curriculum_levels('svhn', data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='fsns/prepare.py'):
        presets.evaluation_dataset('fsns', data_dir=str(tmp_path))


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match='synthetic-svhn, synthetic-grid'):
        presets.curriculum_levels('mnist')


def test_ground_truth_path_holds_out_the_last_images_for_validation(tmp_path):
    out = str(tmp_path / 'd')
    write_dataset(SyntheticDataset('svhn-crops', 40, seed=5), out, show_progress=False)
    gt = os.path.join(out, 'gt.tsv')
    lv, = presets.curriculum_levels(gt, validation_fraction=0.1)
    assert (len(lv.train), len(lv.validation)) == (36, 4)
    assert np.array_equal(lv.validation[0][1], presets.evaluation_dataset(gt)[36][1])


def test_curriculum_json_path_gives_its_levels(tmp_path):
    for k in (1, 2):
        write_dataset(SyntheticDataset('svhn-random', 3, seed=k, min_numbers=k, max_numbers=k),
                      str(tmp_path / ('l%d' % k)), show_progress=False)
    cur = tmp_path / 'curriculum.json'
    cur.write_text(json.dumps([{'train': 'l%d/gt.tsv' % k, 'validation': 'l%d/gt.tsv' % k}
                               for k in (1, 2)]))
    levels = presets.curriculum_levels(str(cur))
    assert [lv.train.num_words for lv in levels] == [1, 2]


def test_fsns_files_are_read_with_the_fsns_char_map(tmp_path):
    # class ids above 10 exist only in the FSNS map: the default (SVHN) map would refuse them
    out = tmp_path / 'fsns'
    write_dataset(SyntheticDataset('fsns-like', 2, seed=3), str(out), show_progress=False)
    (out / 'test.tsv').write_text((out / 'gt.tsv').read_text())
    ds = presets.evaluation_dataset('fsns', data_dir=str(tmp_path), image_size=(75, 300))
    assert ds.char_map.name == 'fsns' and ds[0][1].max() > 10
    assert ds[0][0].shape == (3, 75, 300)


def test_synthetic_sets_honour_image_size():
    lv, = presets.curriculum_levels('synthetic-svhn', image_size=(32, 48), validation_size=2)
    assert lv.train[0][0].shape == lv.validation[1][0].shape == (3, 32, 48)
    assert presets.evaluation_dataset('synthetic-grid', image_size=(100, 100), count=1)[0][0].shape \
        == (3, 100, 100)


def test_a_curriculum_is_evaluated_on_its_last_validation_file(tmp_path):
    for k in (1, 2):
        write_dataset(SyntheticDataset('svhn-random', 3, seed=k, min_numbers=k, max_numbers=k),
                      str(tmp_path / ('l%d' % k)), show_progress=False)
    cur = tmp_path / 'curriculum.json'
    cur.write_text(json.dumps([{'train': 'l1/gt.tsv', 'validation': 'l%d/gt.tsv' % k}
                               for k in (1, 2)]))
    assert presets.evaluation_dataset(str(cur)).num_words == 2


@pytest.mark.parametrize('name,side', [('synthetic-grid', 200), ('synthetic-grid128', 128)])
def test_grid_curriculum_fills_one_to_four_cells_and_tests_on_four(name, side):
    levels = presets.curriculum_levels(name, validation_size=6)
    assert [lv.train.num_words for lv in levels] == [1, 2, 3, 4]
    cell = side // 2
    for k, lv in enumerate(levels, 1):
        for i in range(3):
            x, t = lv.validation[i]
            assert x.shape == (3, side, side)
            assert ((t != 0).any(axis=1)).sum() == k
            boxes = lv.validation.true_boxes(i)
            # every number lies in its own cell
            cells = {(int(b[0] // cell), int(b[1] // cell)) for b in boxes}
            assert len(cells) == k
    test = presets.evaluation_dataset(name, count=5)
    assert test.num_words == 4
    assert all(((test[i][1] != 0).any(axis=1)).sum() == 4 for i in range(5))


def test_grid128_crops_fill_their_cells_at_the_crops_scale():
    from chainer_see.data.synthetic import SyntheticDataset as S
    grid, crops = S('svhn-grid128', 20, seed=2), S('svhn-crops', 20, seed=2)
    heights = lambda ds: np.mean([np.mean(ds.true_boxes(i)[:, 3] - ds.true_boxes(i)[:, 1])
                                 for i in range(20)])
    # the numbers of the analogue are as high as in the 64x64 crops (within 10 %)
    assert abs(heights(grid) / heights(crops) - 1) < 0.1


def test_zoom_levels_shrink_the_number_and_place_it_anywhere():
    levels = presets.curriculum_levels('synthetic-grid128-zoom', validation_size=40)
    assert [lv.train.kind for lv in levels] == ['svhn-zoom128'] * 2 + ['svhn-grid128'] * 3
    assert [lv.train.num_words for lv in levels] == [1, 1, 2, 3, 4]
    sides = []
    for lv in levels[:2]:
        boxes = np.concatenate([lv.validation.true_boxes(i) for i in range(40)])
        assert lv.validation[0][0].shape == (3, 128, 128)
        assert boxes.shape == (40, 4) and (boxes >= 0).all() and (boxes <= 127).all()
        sides.append(np.mean(boxes[:, 3] - boxes[:, 1]))
        centres = (boxes[:, 0] + boxes[:, 2]) / 2
        # anywhere: the centres spread over the canvas, on both sides of the middle
        assert centres.min() < 64 - 8 and centres.max() > 64 + 8
    # the crop shrinks from level to level: numbers of the 64-96 px level are smaller
    assert sides[1] < 0.85 * sides[0]
    test = presets.evaluation_dataset('synthetic-grid128-zoom', count=3)
    assert test.kind == 'svhn-grid128' and test.num_words == 4


def test_random128_levels_place_k_numbers_apart_at_the_grid128_scale():
    levels = presets.curriculum_levels('synthetic-random128', validation_size=30)
    assert [lv.train.kind for lv in levels] == ['svhn-random128'] * 4
    for k, lv in enumerate(levels, 1):
        assert lv.train.num_words == k
        for i in range(30):
            boxes = lv.validation.true_boxes(i)
            assert boxes.shape == (k, 4) and (boxes >= 0).all() and (boxes <= 127).all()
            # no two numbers overlap (their crops are placed apart)
            for a in range(k):
                for b in range(a + 1, k):
                    assert (min(boxes[a, 2], boxes[b, 2]) < max(boxes[a, 0], boxes[b, 0])
                            or min(boxes[a, 3], boxes[b, 3]) < max(boxes[a, 1], boxes[b, 1]))
    heights = np.concatenate([lv.validation.true_boxes(i)[:, 3] - lv.validation.true_boxes(i)[:, 1]
                              for lv in levels for i in range(30)])
    # crops of 40-64 px: the numbers are smaller than the grid128's (64 px crops) ...
    grid = presets.evaluation_dataset('synthetic-grid128', count=30)
    grid_h = np.concatenate([grid.true_boxes(i)[:, 3] - grid.true_boxes(i)[:, 1]
                             for i in range(30)])
    assert heights.mean() < 0.95 * grid_h.mean() and heights.mean() > 0.5 * grid_h.mean()
    # ... and tested, like the grids, on four numbers per image
    test = presets.evaluation_dataset('synthetic-random128', count=5)
    assert test.kind == 'svhn-random128' and test.num_words == 4
    assert all(len(test.words(i)) == 4 for i in range(5))


@pytest.mark.parametrize('opts', [dict(min_side=4), dict(min_side=100, max_side=90),
                                  dict(max_side=129)])
def test_zoom_kind_refuses_sides_that_do_not_fit(opts):
    from chainer_see.data.synthetic import SyntheticDataset as S
    with pytest.raises(ValueError, match='min_side'):
        S('svhn-zoom128', 2, **opts)
