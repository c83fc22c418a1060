"""Lexicon-constrained reading of CTC columns (the CRNN scheme, Shi et al., 2015).

The greedy (best-path) string is read first; the lexicon words within edit distance
``delta`` of it are found with a Burkhard-Keller tree; of those the word with the highest
CTC probability ``p(word | columns)`` is the reading.  Without any candidate the greedy
string is kept.  CRNN uses ``delta = 3``.

- :func:`edit_distance`: Levenshtein distance of two strings.
- :class:`BKTree`: a metric tree of words under :func:`edit_distance`.
- :func:`lexicon_decode`: the reading of one item's columns under a lexicon.
- :func:`load_lexicon`: one word per line of a UTF-8 file.
"""
import numpy

from chainer_see.evaluation.ctc_decode import greedy_decode, sequence_log_probability


def edit_distance(a, b):
    """Levenshtein distance: fewest insertions, deletions and substitutions from ``a`` to ``b``."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1,           # delete ca
                               current[j - 1] + 1,        # insert cb
                               previous[j - 1] + (ca != cb)))  # substitute / keep
        previous = current
    return previous[-1]


class BKTree(object):
    """Burkhard-Keller tree of words under :func:`edit_distance`.

    Every node keeps its children by their distance to it.  A search for the words within
    ``d`` of ``q`` visits, below a node at distance ``k`` from ``q``, only the children at
    distances ``k - d .. k + d`` (triangle inequality), which skips most of the lexicon
    for small ``d``.

    Args:
        words (iterable of str): the lexicon; duplicates are stored once.
    """

    def __init__(self, words=()):
        self._root = None  # [word, {distance: child node}]
        self._size = 0
        for word in words:
            self.add(word)

    def __len__(self):
        return self._size

    def add(self, word):
        """Insert ``word``; a word already in the tree is left as it is."""
        if self._root is None:
            self._root = [word, {}]
            self._size = 1
            return
        node = self._root
        while True:
            d = edit_distance(word, node[0])
            if d == 0:
                return
            child = node[1].get(d)
            if child is None:
                node[1][d] = [word, {}]
                self._size += 1
                return
            node = child

    def search(self, query, max_distance):
        """Words within ``max_distance`` of ``query``.

        Returns:
            list of (int, str): ``(distance, word)`` sorted by distance, then word; ``[]``
            for an empty tree.
        """
        if max_distance < 0:
            raise ValueError('max_distance must be >= 0, got %r' % (max_distance,))
        found = []
        if self._root is None:
            return found
        stack = [self._root]
        while stack:
            word, children = stack.pop()
            d = edit_distance(query, word)
            if d <= max_distance:
                found.append((d, word))
            for k, child in children.items():
                if d - max_distance <= k <= d + max_distance:
                    stack.append(child)
        found.sort()
        return found


def lexicon_decode(log_probs, char_map, tree, max_distance=3):
    """Read one item's columns under a lexicon (CRNN's lexicon-based transcription).

    Args:
        log_probs (array ``(W, K)``): per-column log-probabilities (or logits), class 0
            the blank, ``K == len(char_map)``.
        char_map (:class:`~chainer_see.data.char_map.CharMap`): ids <-> characters.
        tree (:class:`BKTree`): the lexicon.
        max_distance (int): ``delta``, the largest edit distance between the greedy
            string and a candidate word (3 in CRNN).

    Candidates are the lexicon words within ``max_distance`` of the greedy string.  A
    candidate holding a character that ``char_map`` cannot encode is skipped, as is one
    too long to be emitted by ``W`` columns (CTC probability 0).  Among the rest the word
    of highest CTC log-probability wins; a tie goes to the smaller edit distance, then
    to the word that sorts first.  With no candidate left the greedy string is returned.

    Returns:
        (str, float): the word read and its CTC log-probability ``log p(word | columns)``.
    """
    greedy_ids = greedy_decode(log_probs)[0]
    greedy = char_map.decode(greedy_ids)
    best = None
    for _, word in tree.search(greedy, max_distance):
        try:
            ids = char_map.encode(word)
        except ValueError:
            continue
        score = sequence_log_probability(log_probs, ids)
        if score == -numpy.inf:
            continue
        if best is None or score > best[1]:
            best = (word, score)
    if best is None:
        best = (greedy, sequence_log_probability(log_probs, greedy_ids))
    return best


def load_lexicon(path):
    """Words of a UTF-8 text file, one per line, surrounding whitespace stripped, blank
    lines ignored, in file order (duplicates kept; :class:`BKTree` stores them once).

    Raises:
        FileNotFoundError: naming ``path`` when it does not exist.
    """
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise FileNotFoundError('lexicon file not found: %s' % (path,)) from None
    return [line.strip() for line in lines if line.strip()]
