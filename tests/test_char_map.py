import json

import pytest

from chainer_see.data.char_map import CharMap


def test_svhn_map_matches_the_shared_file_and_label_10_is_zero():
    m = CharMap.load('svhn')
    assert len(m) == 11
    assert m.chars[10] == '0' and m.chars[1] == '1' and m.chars[0] == '\u2422'
    assert m.encode('1090') == [1, 10, 9, 10]


def test_fsns_map_has_space_at_133_and_blank_at_0():
    m = CharMap.load('fsns')
    assert len(m) == 134
    assert m.chars[133] == ' '
    assert m.decode(m.encode('Rue de la Paix')) == 'Rue de la Paix'


def test_decode_drops_blanks_everywhere():
    m = CharMap.load('svhn')
    assert m.decode([0, 1, 0, 0, 2, 0]) == '12'
    assert m.decode([0, 0, 0]) == ''


def test_unknown_character_is_named():
    with pytest.raises(ValueError, match=r"'x' \(U\+0078\)"):
        CharMap.load('svhn').encode('1x')


def test_char_map_file_with_gap_is_rejected(tmp_path):
    p = tmp_path / 'bad.json'
    p.write_text(json.dumps({'0': 9250, '2': 49}))
    with pytest.raises(ValueError, match='without gaps'):
        CharMap.load(str(p))
