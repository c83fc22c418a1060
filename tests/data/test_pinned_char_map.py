"""Pinned behaviour of ``CharMap`` (issue 16, step 0): the blank is no character, and a
character listed twice encodes to its first class id."""
import pytest

from chainer_see.data.char_map import CharMap


def test_the_blank_symbol_cannot_be_encoded():
    m = CharMap.load('svhn')
    with pytest.raises(ValueError, match=r'U\+2422'):
        m.encode(m.chars[0])                  # the blank's symbol is not text
    own = CharMap(['_', 'a', 'b'], name='ab')
    with pytest.raises(ValueError, match=r"'_' \(U\+005F\) is not in char map ab"):
        own.encode('a_b')
    assert own.encode('ab') == [1, 2]


def test_a_character_listed_twice_encodes_to_its_first_id():
    m = CharMap(['_', 'a', 'b', 'a', '_'], name='dup')
    assert m.encode('aba') == [1, 2, 1]
    assert m.encode('_') == [4]               # the blank's symbol again, as a character
    assert m.decode([3, 0, 1, 4]) == 'aa_'    # every id decodes, 0 is dropped
