"""``loss.LOSS_PRESETS``: ``SEELoss.preset`` builds each preset from this table; the
attributes are pinned as the ``if``/``elif`` it replaced gave them."""
import pytest

from chainer_see.config import SEEConfig
from chainer_see.training.loss import FSNS_WORD_WEIGHTS, LOSS_PRESETS, SEELoss

_TEXT = dict(mode='svhn', area_weight=0.0, area_accuracy_scale=0.0, aspect_weight=0.0,
             direction_weight=0.0, height_hinge=None, height_weight=1.0,
             outside_weight=0.0, word_weights=None, box_weight=0.0, head=None,
             last_accuracy=None, width_weight=0.0)   # width_weight: added later, off
_FSNS = dict(_TEXT, mode='fsns', area_accuracy_scale=2.0, direction_weight=1.0,
             height_hinge=10.0, word_weights=(1.0, 1.25, 2.0, 1.25))
#: ``vars(SEELoss.preset(name))`` before the table (the pin)
PINNED = {'svhn': dict(_TEXT, view_size=(64, 64)),
          'svhn-grid': dict(_TEXT, view_size=(200, 200)),
          'fsns': dict(_FSNS, view_size=(150, 150)),
          'fsns-paper': dict(_FSNS, view_size=(150, 150))}


def test_the_table_names_the_presets_in_order():
    assert tuple(LOSS_PRESETS) == ('svhn', 'svhn-grid', 'fsns', 'fsns-paper')
    assert LOSS_PRESETS['fsns']['word_weights'] == FSNS_WORD_WEIGHTS


@pytest.mark.parametrize('name', sorted(PINNED))
def test_every_preset_gives_the_pinned_attributes(name):
    assert vars(SEELoss.preset(name)) == PINNED[name]
    given = SEELoss.preset(name, SEEConfig.preset('svhn'), area_weight=0.5)
    assert vars(given) == dict(PINNED[name], view_size=(64, 64), area_weight=0.5)


def test_preset_does_not_change_the_table():
    before = {k: dict(v) for k, v in LOSS_PRESETS.items()}
    SEELoss.preset('fsns', aspect_weight=3.0, view_size=(10, 10))
    assert LOSS_PRESETS == before


def test_unknown_preset_error_texts():
    with pytest.raises(ValueError) as e:
        SEELoss.preset('nope', SEEConfig.preset('svhn'))
    assert str(e.value) == ("unknown SEELoss preset 'nope'; presets: 'svhn', "
                            "'svhn-grid', 'fsns', 'fsns-paper'")
    with pytest.raises(ValueError) as e:    # no config: SEEConfig's error comes first
        SEELoss.preset('nope')
    assert str(e.value) == ("unknown SEE preset 'nope'; presets: fsns, fsns-paper, svhn, "
                            "svhn-grid")
