"""Ground-truth files: the published SEE format, its variants, boxes JSON, curricula.

Published format (what the authors' tooling read; tab-separated, UTF-8)::

    4<TAB>5                      <- words per image N, max characters per word T
    img/0.png<TAB>1<TAB>2<TAB>0...  <- path, then N x T class ids (word-major), blank = 0

Text-recognition variant: header ``T<TAB>1``, rows ``path<TAB>text`` (one word slot;
the text may contain spaces when the char map has a space class).  With header
``1<TAB>1`` a row ``path<TAB>7`` is ambiguous; ``variant='auto'`` reads it as the
published format (one class id); pass ``variant='text'`` to force the other reading.

Readable variant (defined by this project; UTF-8)::

    #see-words<TAB>4<TAB>21
    img/0.png<TAB>Rue<TAB>de<TAB>la<TAB>Paix
    img/1.png<TAB>Quai<TAB><TAB>Voltaire     <- an empty field is an empty word slot

At most N words per row; missing trailing words are empty slots.

Relative image paths are relative to the folder of the ground-truth file.  Only empty
lines at the very end of a file are ignored; any other empty line is an error.

Boxes JSON (written by the generators and converters, read when present): for a
ground-truth file ``NAME.EXT`` it is ``NAME.boxes.json`` beside it::

    {"format": "chainer-see boxes", "version": 1, "views": 1,
     "images": {"img/0.png": {"size": [W, H], "boxes": [[x_min, y_min, x_max, y_max], ...]}}}

Keys are the image paths exactly as in the ground truth.  Boxes are in pixels of the
stored image with the centre of pixel column ``j`` at ``x = j`` (the convention of
``grid_to_boxes``); a box spans the outer edges of its ink, so ink in columns 10..20
gives ``x_min = 9.5, x_max = 20.5``.  They are in reading order and aligned with the
word slots: box ``k`` belongs to word slot ``k``, one box per non-empty slot.  With
``views = V > 1`` (FSNS-like images of V views side by side) there are ``n_words * V``
boxes, region-major: index ``n * V + v``, as the model's output boxes.

Curriculum JSON: a list ``[{"train": gt path, "validation": gt path}, ...]``, easiest
level first, paths relative to the JSON's folder.
"""
import collections
import json
import os

import numpy

from chainer_see.atomic import write_text
from chainer_see.data.errors import BadInputPolicy, DataError

READABLE_TAG = '#see-words'
BOXES_FORMAT = 'chainer-see boxes'
VARIANTS = ('auto', 'words', 'text', 'readable')

CurriculumLevel = collections.namedtuple('CurriculumLevel', ['train', 'validation'])


class GroundTruth(object):
    """The validated content of one ground-truth file.

    Attributes:
        path (str): the file.
        variant (str): ``'words'`` (published), ``'text'`` or ``'readable'``.
        num_words (int): N.   max_chars (int): T.
        rel_paths (list of str): image paths as written.
        paths (list of str): image paths resolved against the file's folder.
        labels (numpy.ndarray): int32 ``(M, N, T)``.
        lines (list of int): the 1-based line of each example.
        boxes (list or None): per example float32 ``(n_words * views, 4)`` from the boxes
            JSON beside the file, or ``None`` when there is no such file.
        sizes (list or None): per example the ``(W, H)`` the boxes refer to.
        views (int): views per image according to the boxes JSON (1 without one).
        skipped (int): bad rows skipped (``skip_bad=True``).
    """

    def __init__(self, path, variant, num_words, max_chars):
        self.path = path
        self.variant = variant
        self.num_words = num_words
        self.max_chars = max_chars
        self.rel_paths = []
        self.paths = []
        self.labels = numpy.zeros((0, num_words, max_chars), numpy.int32)
        self.lines = []
        self.boxes = None
        self.sizes = None
        self.views = 1
        self.skipped = 0

    def __len__(self):
        return len(self.paths)


def boxes_path_for(gt_path):
    """``dir/NAME.EXT`` -> ``dir/NAME.boxes.json`` (the boxes file that goes with it)."""
    return os.path.splitext(gt_path)[0] + '.boxes.json'


def _read_lines(path):
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(path, None, 'ground-truth file not found') from None
    except OSError as e:
        raise DataError(path, None, 'cannot read ground-truth file (%s)' % e.strerror) from None
    lines = raw.split(b'\n')
    out = []
    for no, b in enumerate(lines, 1):
        if b.endswith(b'\r'):
            b = b[:-1]
        try:
            out.append(b.decode('utf-8'))
        except UnicodeDecodeError as e:
            raise DataError(path, no, 'not UTF-8 text (byte %d)' % (e.start + 1)) from None
    while out and out[-1] == '':
        out.pop()
    if not out:
        raise DataError(path, None, 'empty file (expected a header line "<words>\\t<chars>")')
    if out[0].startswith('\ufeff'):
        out[0] = out[0][1:]
    return out


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        return None
    return v if v >= 1 and text.strip() == text else None


def _parse_header(path, header, variant):
    fields = header.split('\t')
    if fields[0] == READABLE_TAG:
        if variant not in ('auto', 'readable'):
            raise DataError(path, 1, 'readable header %r but variant %r was asked for'
                            % (header, variant))
        vals = [_positive_int(f) for f in fields[1:]]
        if len(fields) != 3 or None in vals:
            raise DataError(path, 1, 'readable header must be "%s\\t<words>\\t<chars>", found %r'
                            % (READABLE_TAG, header))
        return 'readable', vals[0], vals[1]
    if variant == 'readable':
        raise DataError(path, 1, 'expected the readable header "%s\\t<words>\\t<chars>", found %r'
                        % (READABLE_TAG, header))
    vals = [_positive_int(f) for f in fields]
    if len(fields) != 2 or None in vals:
        raise DataError(path, 1, 'header must be "<words per image>\\t<max chars per word>" '
                        '(two positive integers), found %r' % header)
    return variant, vals[0], vals[1]


def _detect_variant(first_row, a, b):
    """Published (``'words'``) or text-recognition (``'text'``) for header ``a<TAB>b``."""
    if b != 1:
        return 'words'
    fields = first_row.split('\t')
    if len(fields) != 2:
        return 'words'
    if a == 1 and _is_int(fields[1]):
        return 'words'
    return 'text'


def _is_int(text):
    try:
        int(text)
    except ValueError:
        return False
    return True


def _check_word(path, no, word, slot, max_chars, char_map):
    if len(word) > max_chars:
        raise DataError(path, no, 'word %d %r has %d characters, more than max chars %d'
                        % (slot + 1, word, len(word), max_chars))
    try:
        return char_map.encode(word)
    except ValueError as e:
        raise DataError(path, no, 'word %d %r: %s' % (slot + 1, word, e)) from None


def _parse_row(path, no, line, variant, n, t, char_map):
    """One data row -> (rel_path, labels (n, t) int32); raises DataError."""
    if line == '':
        raise DataError(path, no, 'empty line')
    fields = line.split('\t')
    labels = numpy.zeros((n, t), numpy.int32)
    if variant == 'words':
        want = 1 + n * t
        if len(fields) != want:
            hint = ' (the last one empty: a trailing tab?)' if fields[-1] == '' else ''
            raise DataError(path, no, 'expected 1+%d columns (%d words x %d chars), found %d%s'
                            % (n * t, n, t, len(fields), hint))
        ids = []
        k = len(char_map)
        for col, text in enumerate(fields[1:], 2):
            try:
                v = int(text)
            except ValueError:
                raise DataError(path, no, 'column %d: %r is not an integer class id'
                                % (col, text)) from None
            if not 0 <= v < k:
                raise DataError(path, no, 'column %d: unknown class id %d (char map %s has 0..%d)'
                                % (col, v, char_map.name or '', k - 1))
            ids.append(v)
        labels[...] = numpy.asarray(ids, numpy.int32).reshape(n, t)
    elif variant == 'text':
        if len(fields) != 2:
            raise DataError(path, no, 'expected 2 columns (path, text) for the text-recognition '
                            'variant (header "%d\\t1"), found %d' % (t, len(fields)))
        ids = _check_word(path, no, fields[1], 0, t, char_map)
        labels[0, :len(ids)] = ids
    else:  # readable
        if not 1 <= len(fields) <= 1 + n:
            raise DataError(path, no, 'expected a path and at most %d words, found %d words'
                            % (n, len(fields) - 1))
        for slot, word in enumerate(fields[1:]):
            ids = _check_word(path, no, word, slot, t, char_map)
            labels[slot, :len(ids)] = ids
    if fields[0].strip() == '':
        raise DataError(path, no, 'empty image path')
    return fields[0], labels


def resolve(base_file, rel):
    """``rel`` resolved against the folder of ``base_file`` (absolute paths unchanged)."""
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(base_file)), rel))


def read_ground_truth(path, char_map, variant='auto', skip_bad=False, report=None,
                      check_images=True, read_boxes=True):
    """Read and validate a ground-truth file (any variant).

    Args:
        path (str): the file.
        char_map (CharMap): validates class ids / encodes text.
        variant (str): ``'auto'``, ``'words'`` (published), ``'text'`` or ``'readable'``.
        skip_bad (bool): report and skip bad rows instead of raising.
        report (callable): receives the skip messages (default: stderr).
        check_images (bool): check that every image file exists.
        read_boxes (bool): read the boxes JSON beside the file when there is one.

    Returns:
        GroundTruth.  Raises :class:`DataError` naming file and line.
    """
    if variant not in VARIANTS:
        raise ValueError('variant must be one of %s, not %r' % (VARIANTS, variant))
    lines = _read_lines(path)
    variant, n, t = _parse_header(path, lines[0], variant)
    rows = lines[1:]
    if not rows:
        raise DataError(path, None, 'no examples after the header')
    if variant == 'auto':
        variant = _detect_variant(rows[0], n, t)
    if variant == 'text':
        n, t = 1, n
    gt = GroundTruth(path, variant, n, t)
    policy = BadInputPolicy(skip_bad, report)
    labels = []
    for no, line in enumerate(rows, 2):
        try:
            rel, lab = _parse_row(path, no, line, variant, n, t, char_map)
            full = resolve(path, rel)
            if check_images and not os.path.isfile(full):
                raise DataError(path, no, 'image not found: %s' % rel)
        except DataError as e:
            policy(e)
            continue
        gt.rel_paths.append(rel)
        gt.paths.append(full)
        gt.lines.append(no)
        labels.append(lab)
    policy.summary('rows of %s' % path, len(rows))
    gt.skipped = policy.skipped
    if not labels:
        raise DataError(path, None, 'no usable examples (%d rows skipped)' % policy.skipped)
    gt.labels = numpy.stack(labels)
    if read_boxes and os.path.exists(boxes_path_for(path)):
        _attach_boxes(gt, boxes_path_for(path))
    return gt


def words_in(labels):
    """Number of word slots of ``labels`` (N, T) that hold at least one non-blank."""
    return int(numpy.count_nonzero(numpy.any(numpy.asarray(labels) != 0, axis=-1)))


def _read_json(path, what):
    """Parse a JSON file; a missing file or bad JSON raises ``DataError`` (with the line)."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        raise DataError(path, None, '%s not found' % what) from None
    except ValueError as e:
        raise DataError(path, getattr(e, 'lineno', None), 'not valid JSON (%s)'
                        % getattr(e, 'msg', e)) from None


def read_boxes(path):
    """Read a boxes JSON -> ``(views, {rel_path: ((W, H), float32 (k, 4))})``."""
    doc = _read_json(path, 'boxes file')
    if not isinstance(doc, dict) or doc.get('format') != BOXES_FORMAT \
            or not isinstance(doc.get('images'), dict):
        raise DataError(path, None, 'not a boxes file (expected {"format": "%s", '
                        '"images": {...}})' % BOXES_FORMAT)
    views = doc.get('views', 1)
    if not isinstance(views, int) or views < 1:
        raise DataError(path, None, '"views" must be a positive integer, found %r' % (views,))
    out = {}
    for rel, entry in doc['images'].items():
        try:
            w, h = entry['size']
            b = numpy.asarray(entry['boxes'], numpy.float32).reshape(-1, 4)
            if len(entry['boxes']) != len(b):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise DataError(path, None, 'image %r: expected {"size": [W, H], "boxes": '
                            '[[x_min, y_min, x_max, y_max], ...]}' % rel) from None
        out[rel] = ((int(w), int(h)), b)
    return views, out


def _attach_boxes(gt, bpath):
    views, table = read_boxes(bpath)
    gt.views = views
    gt.boxes, gt.sizes = [], []
    for rel, lab, no in zip(gt.rel_paths, gt.labels, gt.lines):
        if rel not in table:
            raise DataError(bpath, None, 'no boxes for %s (%s:%d)' % (rel, gt.path, no))
        size, b = table[rel]
        nw = words_in(lab)
        if len(b) != nw * views:
            raise DataError(bpath, None, '%s has %d boxes but %s:%d has %d words x %d views'
                            % (rel, len(b), gt.path, no, nw, views))
        gt.sizes.append(size)
        gt.boxes.append(b)


# ----------------------------------------------------------------------------- writing

def format_ground_truth(rows, num_words, max_chars, char_map, variant='words'):
    """Text of a ground-truth file.

    Args:
        rows: iterable of ``(rel_path, words)`` with ``words`` a list of at most
            ``num_words`` strings (reading order), each at most ``max_chars`` long.
        variant: ``'words'`` (published), ``'readable'`` or ``'text'`` (needs
            ``num_words == 1``).
    """
    if variant == 'words':
        out = ['%d\t%d' % (num_words, max_chars)]
    elif variant == 'readable':
        out = ['%s\t%d\t%d' % (READABLE_TAG, num_words, max_chars)]
    elif variant == 'text':
        if num_words != 1:
            raise ValueError('the text-recognition variant holds one word slot, not %d'
                             % num_words)
        out = ['%d\t1' % max_chars]
    else:
        raise ValueError('unknown ground-truth variant %r' % (variant,))
    for rel, words in rows:
        if '\t' in rel or '\n' in rel:
            raise ValueError('image path %r contains a tab or newline' % rel)
        words = list(words)
        if len(words) > num_words:
            raise ValueError('%s: %d words, more than %d' % (rel, len(words), num_words))
        for w in words:
            if len(w) > max_chars or '\t' in w or '\n' in w:
                raise ValueError('%s: word %r longer than %d or holding a tab/newline'
                                 % (rel, w, max_chars))
            char_map.encode(w)  # raises on an unknown character
        if variant == 'words':
            ids = numpy.zeros((num_words, max_chars), numpy.int64)
            for k, w in enumerate(words):
                ids[k, :len(w)] = char_map.encode(w)
            out.append('\t'.join([rel] + [str(v) for v in ids.ravel()]))
        elif variant == 'readable':
            out.append('\t'.join([rel] + words))
        else:
            out.append('%s\t%s' % (rel, words[0] if words else ''))
    return '\n'.join(out) + '\n'


def write_ground_truth(path, rows, num_words, max_chars, char_map, variant='words'):
    """Write a ground-truth file (see :func:`format_ground_truth`) atomically."""
    write_text(path, format_ground_truth(rows, num_words, max_chars, char_map, variant))


def write_boxes(path, entries, views=1):
    """Write a boxes JSON.  ``entries``: iterable of ``(rel_path, (W, H), boxes (k, 4))``."""
    images = collections.OrderedDict()
    for rel, (w, h), boxes in entries:
        b = numpy.asarray(boxes, numpy.float64).reshape(-1, 4)
        images[rel] = {'size': [int(w), int(h)],
                       'boxes': [[round(float(v), 3) for v in row] for row in b]}
    doc = collections.OrderedDict([('format', BOXES_FORMAT), ('version', 1), ('views', views),
                                   ('images', images)])
    write_text(path, json.dumps(doc, ensure_ascii=False, separators=(',', ':')) + '\n')


def write_curriculum(path, levels):
    """Write a curriculum JSON; ``levels`` is a list of ``(train_rel, validation_rel)``."""
    doc = [collections.OrderedDict([('train', tr), ('validation', va)]) for tr, va in levels]
    write_text(path, json.dumps(doc, indent=1) + '\n')


def load_curriculum(path, check_files=True):
    """Read a curriculum JSON -> list of :class:`CurriculumLevel` with resolved paths."""
    doc = _read_json(path, 'curriculum file')
    if not isinstance(doc, list) or not doc:
        raise DataError(path, None, 'a curriculum is a non-empty JSON list of '
                        '{"train": path, "validation": path}')
    levels = []
    for k, entry in enumerate(doc, 1):
        where = 'level %d' % k
        if not isinstance(entry, dict) or set(entry) != {'train', 'validation'} \
                or not all(isinstance(v, str) and v for v in entry.values()):
            raise DataError(path, where, 'expected {"train": path, "validation": path}, found %s'
                            % json.dumps(entry)[:200])
        level = CurriculumLevel(resolve(path, entry['train']), resolve(path, entry['validation']))
        if check_files:
            for key, p in zip(('train', 'validation'), level):
                if not os.path.isfile(p):
                    raise DataError(path, where, '%s file not found: %s' % (key, entry[key]))
        levels.append(level)
    return levels
