import json

import numpy
import pytest

from chainer_see.config import PRESETS
from chainer_see.config import SEEConfig


@pytest.mark.parametrize('name', sorted(PRESETS))
def test_preset_round_trips_through_json(name):
    cfg = SEEConfig.preset(name)
    text = json.dumps(cfg.to_dict())
    back = SEEConfig.from_dict(json.loads(text))
    assert back == cfg
    assert SEEConfig.from_json(cfg.to_json()) == cfg


def test_presets_hold_the_published_configurations():
    svhn = SEEConfig.preset('svhn')
    assert (svhn.image_size, svhn.views, svhn.num_regions, svhn.num_chars, svhn.num_classes,
            svhn.crop_size) == ((64, 64), 1, 1, 5, 11, (50, 50))
    assert (svhn.transform_head, svhn.zoom, svhn.shortcut, svhn.pooling, svhn.head,
            svhn.backbone) == ('linear', 0.9, 'code', 'code', 'lstm', 'small-resnet')
    grid = SEEConfig.preset('svhn-grid')
    assert (grid.image_size, grid.num_regions, grid.num_chars, grid.crop_size) == \
        ((200, 200), 4, 5, (50, 50))
    fsns = SEEConfig.preset('fsns')
    assert (fsns.image_size, fsns.views, fsns.view_size, fsns.num_regions, fsns.num_chars,
            fsns.num_classes, fsns.crop_size) == ((150, 600), 4, (150, 150), 4, 21, 134,
                                                   (75, 100))
    assert (fsns.transform_head, fsns.backbone, fsns.rec_units, fsns.backward_lstm,
            fsns.shortcut, fsns.pooling, fsns.rotation_dropout) == (
        'lstm', 'resnet152', 512, True, 'code', 'code', 'code')
    # the paper's reading differs in the reader only
    paper = SEEConfig.preset('fsns-paper')
    assert paper.replace(backbone='resnet152') == fsns and paper.backbone == 'resnet18'
    assert len(fsns.get_char_map()) == 134
    assert svhn.get_char_map().decode([1, 0, 10]) == '10'


def test_overrides_and_replace():
    cfg = SEEConfig.preset('svhn', num_regions=3, head='independent')
    assert cfg.num_regions == 3 and cfg.head == 'independent'
    assert cfg.replace(num_chars=7).num_chars == 7
    assert SEEConfig.preset('svhn', image_size=numpy.array([80, 96])).image_size == (80, 96)
    assert SEEConfig.preset('svhn', num_regions=numpy.int64(2)).num_regions == 2


def test_unknown_keys_are_named():
    d = SEEConfig.preset('svhn').to_dict()
    d['num_words'] = 3
    d['colour'] = 1
    with pytest.raises(ValueError, match='colour, num_words'):
        SEEConfig.from_dict(d)
    with pytest.raises(ValueError, match='num_words'):
        SEEConfig.preset('svhn', num_words=3)
    with pytest.raises(ValueError, match="unknown SEE preset 'svhn-random'"):
        SEEConfig.preset('svhn-random')


@pytest.mark.parametrize('field,value,message', [
    ('transform_head', 'conv', "transform_head must be one of 'linear', 'lstm'"),
    ('shortcut', 'none', 'shortcut must be one of'),
    ('pooling', 'max', 'pooling must be one of'),
    ('rotation_dropout', 'always', 'rotation_dropout must be one of'),
    ('backbone', 'vgg', 'backbone must be one of'),
    ('head', 'attention', 'head must be one of'),
    ('num_regions', 0, 'num_regions must be a positive integer'),
    ('num_chars', 2.5, 'num_chars must be a positive integer'),
    ('num_classes', 1, 'num_classes must be >= 2'),
    ('image_size', (64,), r'image_size must be a pair'),
    ('crop_size', (0, 50), 'crop_size must hold positive integers'),
    ('rotation_dropout_ratio', 1.5, r'rotation_dropout_ratio must be in \[0, 1\]'),
    ('zoom', 'big', 'zoom must be a number'),
    ('char_map', 'latin', 'char_map must be one of'),
    ('char_map', ['a', 'b'], 'char_map has 2 characters but num_classes is 11'),
    ('backward_lstm', 'yes', 'backward_lstm must be true or false'),
    ('slot_layout', 'row', "slot_layout must be one of 'none', 'grid'"),
])
def test_bad_fields_give_clear_messages(field, value, message):
    with pytest.raises(ValueError, match=message):
        SEEConfig.preset('svhn', **{field: value})


def test_combinations_are_checked():
    with pytest.raises(ValueError, match='not divisible by views=4'):
        SEEConfig.preset('svhn', views=4, image_size=(64, 66))
    with pytest.raises(ValueError, match="backward_lstm needs head='lstm'"):
        SEEConfig.preset('fsns', head='independent')
    with pytest.raises(ValueError, match="drop probability in mode 'sample'"):
        SEEConfig.preset('svhn', rotation_dropout='sample', rotation_dropout_ratio=1.0)


def test_char_map_as_list():
    chars = ['_', 'a', 'b']
    cfg = SEEConfig.preset('svhn', num_classes=3, char_map=chars)
    assert cfg.get_char_map().decode([1, 0, 2, 1]) == 'aba'
    assert SEEConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))).char_map == chars
