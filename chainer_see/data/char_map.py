"""Char maps: class id <-> character, with class 0 the blank.

The JSON files (``datasets/char_maps/*_char_map.json``) map a class id (string) to a
Unicode code point.  ``CharMap.load('svhn')`` / ``CharMap.load('fsns')`` find the
project's maps (in a checkout or an installed package); any other argument is a path.
"""
import json
import os

BLANK = 0
_NAMES = ('svhn', 'fsns')


def _builtin_path(name):
    here = os.path.dirname(os.path.abspath(__file__))
    checkout = os.path.normpath(os.path.join(here, '..', '..', 'datasets', 'char_maps'))
    installed = os.path.normpath(os.path.join(here, '..', 'char_maps'))
    for folder in (checkout, installed):
        path = os.path.join(folder, '%s_char_map.json' % name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError('char map %r not found in %s or %s' % (name, checkout, installed))


class CharMap(object):
    """Ordered characters of a model's classes; ``chars[0]`` is the blank symbol.

    Args:
        chars (list of str): one character per class id, index 0 the blank.
        name (str): a short name kept for messages and model files.
    """

    def __init__(self, chars, name=None):
        chars = list(chars)
        if not chars:
            raise ValueError('a char map needs at least the blank class')
        self.chars = chars
        self.name = name
        self._ids = {}
        for i, c in enumerate(chars):
            if i != BLANK:
                self._ids.setdefault(c, i)

    @classmethod
    def load(cls, name_or_path):
        """Read ``'svhn'``, ``'fsns'`` or a JSON file ``{"id": code_point, ...}``."""
        path = _builtin_path(name_or_path) if name_or_path in _NAMES else name_or_path
        with open(path, encoding='utf-8') as f:
            try:
                table = json.load(f)
            except ValueError as e:
                raise ValueError('%s: not a JSON char map (%s)' % (path, e))
        try:
            ids = sorted(int(k) for k in table)
        except ValueError:
            raise ValueError('%s: class ids must be integers given as strings' % path)
        if ids != list(range(len(ids))):
            raise ValueError('%s: class ids must be 0..%d without gaps' % (path, len(ids) - 1))
        name = name_or_path if name_or_path in _NAMES else os.path.basename(path)
        return cls([chr(int(table[str(i)])) for i in ids], name=name)

    def __len__(self):
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, CharMap) and self.chars == other.chars

    @property
    def blank(self):
        return BLANK

    def encode(self, text):
        """Text -> list of class ids.  Raises ``ValueError`` naming an unknown character."""
        try:
            return [self._ids[c] for c in text]
        except KeyError as e:
            raise ValueError('character %r (U+%04X) is not in char map %s'
                             % (e.args[0], ord(e.args[0]), self.name or '')) from None

    def decode(self, ids):
        """Class ids -> text; every blank is dropped, also in the middle of a word."""
        return ''.join(self.chars[int(i)] for i in ids if int(i) != BLANK)

    def to_list(self):
        return list(self.chars)
