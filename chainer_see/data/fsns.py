"""FSNS TFRecord shards -> PNG files + word-level ground truth + curriculum.

Input: the FSNS root with split folders (``train/``, ``validation/``, ``test/``), each
holding shards (``train-00000-of-00512`` ...); every file in a split folder whose name
does not start with ``.`` is read as a shard, in sorted order.

Per record (a ``tf.train.Example``):

- labels come from ``image/class`` with FSNS's class swap applied: FSNS uses 133 for
  null (padding) and 0 for space; the project's char map has blank 0 and space 133;
  trailing nulls are padding, a null inside the text is an error.  When present,
  ``image/unpadded_class`` must equal the unpadded labels and ``image/text`` the text
  they spell, otherwise the record is bad (nothing is silently misaligned);
- the line is split on spaces into words (runs of spaces count as one);
- the PNG in ``image/encoded`` is decoded once to check it, then written unchanged.

Word-level filters: an image is kept when it has ``min_words..max_words`` words and
no word longer than ``max_chars``; others are dropped and counted (not errors).

Output (``out/``)::

    <split>/<shard>/<record index>.png
    <split>.tsv           every kept image of the split, N = max_words, T = max_chars
    <split>_<k>.tsv       curriculum level k: the images with exactly k words, N = k
    curriculum.json       [{"train": "train_<k>.tsv", "validation": "validation_<k>.tsv"}, ...]
                          for each k whose train and validation files are non-empty
    conversion.json       counts: records read, kept, dropped by reason, skipped as bad;
                          ``curriculum``: the levels written and, per level dropped, why

Levels hold *exactly* k words so that adding level k+1 to the data of levels <= k (as
the curriculum does, padding old labels with empty slots) repeats no image.  Empty
level files are not written.  A level ``k`` goes into the curriculum only when both the
train and the validation split have images with exactly ``k`` words; every level left
out is reported in one line (``curriculum level k (exactly k words) dropped: <why>``)
and listed with its reason under ``curriculum.dropped`` in ``conversion.json``.
"""
import collections
import io
import json
import os

from PIL import Image

from chainer_see.data.char_map import CharMap
from chainer_see.data.errors import BadInputPolicy, DataError
from chainer_see.data.ground_truth import write_curriculum, write_ground_truth
from chainer_see.data.output import atomic_output_dir
from chainer_see.data.tfrecord import ExampleDecodeError, parse_example, read_records
from chainer_see.progress import progress

SPLITS = ('train', 'validation', 'test')
FSNS_NULL = 133
FSNS_SPACE = 0
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def swap_classes(ids):
    """FSNS class ids -> the project's (null 133 <-> space 0 become blank 0 / space 133)."""
    return [FSNS_NULL if v == FSNS_SPACE else FSNS_SPACE if v == FSNS_NULL else v for v in ids]


def find_shards(root, splits=SPLITS):
    """``{split: [shard paths]}`` for the split folders present under ``root``."""
    if not os.path.isdir(root):
        raise DataError(root, None, 'FSNS folder not found')
    out = collections.OrderedDict()
    for split in splits:
        folder = os.path.join(root, split)
        if os.path.isdir(folder):
            shards = sorted(os.path.join(folder, n) for n in os.listdir(folder)
                            if not n.startswith('.') and os.path.isfile(os.path.join(folder, n)))
            if shards:
                out[split] = shards
    if not out:
        raise DataError(root, None, 'no shards found in %s subfolders'
                        % '/'.join(s + '/' for s in splits))
    return out


def decode_record(payload, char_map):
    """Example payload -> ``(png bytes, text)``; raises ``ValueError`` saying what is wrong."""
    try:
        feats = parse_example(payload)
    except ExampleDecodeError as e:
        raise ValueError('not a tf.train.Example (%s)' % e) from None
    kind, image = feats.get('image/encoded', (None, []))
    if kind != 'bytes' or len(image) != 1:
        raise ValueError('missing image/encoded (one bytes value)')
    kind, classes = feats.get('image/class', (None, []))
    if kind != 'int64' or not classes:
        raise ValueError('missing image/class (int64 list)')
    k = len(char_map)
    for v in classes:
        if not 0 <= v < k:
            raise ValueError('unknown class id %d in image/class (0..%d)' % (v, k - 1))
    ids = swap_classes(classes)
    n = len(ids)
    while n and ids[n - 1] == 0:
        n -= 1
    if 0 in ids[:n]:
        raise ValueError('null class %d inside the text of image/class at position %d'
                         % (FSNS_NULL, ids.index(0) + 1))
    if 'image/unpadded_class' in feats:
        kind, unpadded = feats['image/unpadded_class']
        if list(unpadded) != list(classes[:n]):
            raise ValueError('image/unpadded_class %s does not match image/class %s'
                             % (list(unpadded), list(classes[:n])))
    text = char_map.decode(ids[:n])
    if 'image/text' in feats:
        kind, values = feats['image/text']
        try:
            stored = values[0].decode('utf-8') if kind == 'bytes' and values else None
        except UnicodeDecodeError:
            stored = None
        if stored != text:
            raise ValueError('image/text %r does not match image/class, which spells %r'
                             % (stored, text))
    return image[0], text


def check_png(data):
    """Decode ``data`` fully; return PNG bytes (re-encoded if it was another format)."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as e:  # PIL raises many types for corrupt data
        raise ValueError('image/encoded is not a readable image (%s)' % e) from None
    if data[:8] == PNG_MAGIC:
        return data
    out = io.BytesIO()
    img.save(out, format='PNG')
    return out.getvalue()


def plan_curriculum(rows, min_words, max_words):
    """Which curriculum levels ``min_words..max_words`` can be written, and why the others
    cannot.

    ``rows``: ``{split: [(path, words), ...]}`` of the kept images.  A level ``k`` needs
    train *and* validation images with exactly ``k`` words (the curriculum validates each
    level on its own images).  Returns ``{'levels': [k, ...], 'dropped': {'k': reason},
    'note': line or None}`` (``note`` when no curriculum can be written at all, e.g. no
    validation split was converted; levels are then not listed one by one).
    """
    plan = {'levels': [], 'dropped': collections.OrderedDict(), 'note': None}
    if 'train' not in rows:
        plan['note'] = None if not rows else 'the train split was not converted'
        return plan
    if not rows['train']:
        plan['note'] = 'no train image was kept'
        return plan
    if not rows.get('validation'):
        plan['note'] = ('no validation image: the validation split was not converted'
                        if 'validation' not in rows else 'no validation image was kept')
        return plan
    for k in range(min_words, max_words + 1):
        n_train = sum(len(w) == k for _, w in rows['train'])
        n_val = sum(len(w) == k for _, w in rows['validation'])
        if n_train and n_val:
            plan['levels'].append(k)
            continue
        if not n_train and not n_val:
            reason = 'no train and no validation image has exactly %d word%s' % (
                k, '' if k == 1 else 's')
        elif not n_val:
            reason = ('%d train image%s but no validation image with exactly %d word%s (a level '
                      'is validated on its own images)' % (n_train, '' if n_train == 1 else 's',
                                                            k, '' if k == 1 else 's'))
        else:
            reason = '%d validation image%s but no train image with exactly %d word%s' % (
                n_val, '' if n_val == 1 else 's', k, '' if k == 1 else 's')
        plan['dropped'][str(k)] = reason
    if not plan['levels']:
        plan['note'] = 'no word count has both train and validation images'
    return plan


def _convert_record(payload, index, shard, char_map, policy, c, limits):
    """``(png bytes, words)`` of one record, or ``None`` for a bad record (reported to
    ``policy``) or one the word filters drop; counts it in ``c``."""
    min_words, max_words, max_chars = limits
    c['records'] += 1
    try:
        png, text = decode_record(payload, char_map)
        png = check_png(png)
    except ValueError as e:
        policy(DataError(shard, 'record %d' % index, str(e)))
        c['bad'] += 1
        return None
    words = text.split()
    if len(words) < min_words:
        c['dropped: fewer than %d words' % min_words] += 1
    elif len(words) > max_words:
        c['dropped: more than %d words' % max_words] += 1
    elif max(len(w) for w in words) > max_chars:
        c['dropped: a word longer than %d chars' % max_chars] += 1
    else:
        return png, words
    return None


def _write_splits(tmp, rows, ext, limits, char_map, gt_format, say):
    """The ground truth of every split, and of each split's word counts (the levels)."""
    min_words, max_words, max_chars = limits
    for split, split_rows in rows.items():
        if not split_rows:
            say('%s: no image kept' % split)
            continue
        write_ground_truth(os.path.join(tmp, split + ext), split_rows, max_words,
                           max_chars, char_map, gt_format)
        for k in range(min_words, max_words + 1):
            level_rows = [r for r in split_rows if len(r[1]) == k]
            if level_rows:
                write_ground_truth(os.path.join(tmp, '%s_%d%s' % (split, k, ext)),
                                   level_rows, k, max_chars, char_map, gt_format)


def convert_fsns(src, out, min_words=1, max_words=4, max_chars=21, splits=SPLITS,
                 skip_bad=False, report=None, overwrite=False, gt_format='words',
                 show_progress=None):
    """Convert FSNS shards under ``src`` into ``out`` (see the module docstring).

    Returns the counts written to ``conversion.json``.  Raises :class:`DataError`
    (naming shard and record) on bad input unless ``skip_bad``; on any error nothing is
    left in ``out``.
    """
    if not 1 <= min_words <= max_words:
        raise ValueError('need 1 <= min_words <= max_words, got %d, %d' % (min_words, max_words))
    char_map = CharMap.load('fsns')
    shards = find_shards(src, splits)
    policy = BadInputPolicy(skip_bad, report)
    say = policy.report
    counts = collections.OrderedDict()
    total_shards = sum(len(v) for v in shards.values())
    ext = '.txt' if gt_format == 'readable' else '.tsv'
    with atomic_output_dir(out, overwrite=overwrite) as tmp:
        bar_items = [(split, shard) for split, lst in shards.items() for shard in lst]
        rows = collections.OrderedDict((s, []) for s in shards)
        split_counts = collections.OrderedDict(
            (s, collections.Counter()) for s in shards)
        for split, shard in progress(bar_items, desc='fsns shards', enabled=show_progress,
                                     unit='shard'):
            c = split_counts[split]
            name = os.path.basename(shard)
            folder = os.path.join(tmp, split, name)
            os.makedirs(folder)
            for index, payload in read_records(shard, on_error=policy):
                row = _convert_record(payload, index, shard, char_map, policy, c,
                                      (min_words, max_words, max_chars))
                if row is None:
                    continue
                png, words = row
                rel = '%s/%s/%06d.png' % (split, name, index)
                with open(os.path.join(tmp, rel), 'wb') as f:
                    f.write(png)
                rows[split].append((rel, words))
                c['kept'] += 1
        _write_splits(tmp, rows, ext, (min_words, max_words, max_chars), char_map, gt_format,
                      say)
        curriculum = plan_curriculum(rows, min_words, max_words)
        for k, reason in curriculum['dropped'].items():
            say('curriculum level %s (exactly %s word%s) dropped: %s'
                % (k, k, '' if k == '1' else 's', reason))
        if curriculum['levels']:
            write_curriculum(os.path.join(tmp, 'curriculum.json'),
                             [('train_%d%s' % (k, ext), 'validation_%d%s' % (k, ext))
                              for k in curriculum['levels']])
        elif curriculum['note']:
            say('no curriculum written: %s' % curriculum['note'])
        for split, c in split_counts.items():
            counts[split] = dict(sorted(c.items()))
        counts['curriculum'] = curriculum
        counts['options'] = {'min_words': min_words, 'max_words': max_words,
                             'max_chars': max_chars, 'shards': total_shards,
                             'skipped_bad': policy.skipped}
        with open(os.path.join(tmp, 'conversion.json'), 'w') as f:
            json.dump(counts, f, indent=1)
        for split, c in split_counts.items():
            dropped = sum(v for k, v in c.items() if k.startswith('dropped'))
            say('%s: %d records, %d kept, %d dropped by the word filters, %d bad'
                % (split, c['records'], c['kept'], dropped, c['bad']))
    policy.summary('bad records or shards', sum(c['records'] for c in split_counts.values()))
    return counts
