"""Tiny models with fixed weights, image and ground-truth fixtures in the real formats, and
the figures of the report computed the plain way (Python loops), independent of
``chainer_see.evaluation.metrics`` and ``chainer_see.evaluation``."""
import json

import numpy
from PIL import Image

import chainer

import chainer_see
from chainer_see import SEE, SEEConfig

def tiny_svhn_config(**overrides):
    """Smallest svhn-like model: 40x40 input (the localization net needs >= 34 px a side),
    36x36 crops (the small-resnet reader needs >= 35), two word slots."""
    kw = dict(image_size=(40, 40), crop_size=(36, 36), num_regions=2)
    kw.update(overrides)
    return SEEConfig.preset('svhn', **kw)


def tiny_fsns_config(**overrides):
    """Four 40x40 views, two word slots of four characters, ResNet-18 reader on 16x24 crops
    (``fsns-paper``), the regions started by the zoom-initialized linear head."""
    kw = dict(image_size=(40, 160), num_regions=2, num_chars=4, crop_size=(16, 24),
              transform_head='linear')
    kw.update(overrides)
    return SEEConfig.preset('fsns-paper', **kw)


def fixed_model(config, seed=0, varied=True):
    """A SEE with fixed weights (seeded initialization).

    ``varied``: the transform head gets small weights, so that boxes depend on the image,
    and the reader is scaled (``fc1 x 10``, blank bias + 0.5) so that the words read vary
    from image to image and some steps read a blank.  Otherwise the transform head keeps
    its zero weights: every region is the centred ``zoom`` crop.
    """
    numpy.random.seed(seed)
    model = SEE(config)
    if varied:
        rng = numpy.random.RandomState(seed + 1)
        W = model.localization_net.transform_2.W
        W.array[...] = rng.randn(*W.shape).astype(numpy.float32) * 0.3
        model.recognition_net.fc1.W.array[...] *= 10
        model.recognition_net.classifier.b.array[0] += 0.5
    return model


def pattern_image(rng, size_wh, mode='RGB'):
    """Blocky random colour pattern of ``size_wh = (W, H)`` as a PIL image."""
    W, H = size_wh
    small = (rng.rand(5, 5, 3) * 255).astype(numpy.uint8)
    img = Image.fromarray(small, 'RGB').resize((W, H), Image.NEAREST)
    return img.convert(mode) if mode != 'RGB' else img


def load_as_model_input(path, config):
    """PIL -> RGB -> bilinear resize to the model input -> float (3, H, W) in [0, 1]."""
    H, W = config.image_size
    img = Image.open(path).convert('RGB').resize((W, H), Image.BILINEAR)
    return numpy.asarray(img, numpy.float32).transpose(2, 0, 1) / 255.0


def run_one(model, x):
    """Logits (N, T, K) and boxes (N*V, 4) of one image, in test mode."""
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        out = model(x[None].astype(numpy.float32))
    return out.logits.array[0], numpy.asarray(out.boxes[0])


def decode_plain(logits, chars):
    """Argmax per step, blanks (class 0) dropped, characters joined; one word per slot."""
    words = []
    for slot in logits:
        ids = [int(numpy.argmax(step)) for step in slot]
        words.append(''.join(chars[i] for i in ids if i != 0))
    return words


def confidence_plain(logits):
    """Product over slots and steps of the top softmax probability."""
    total = 1.0
    words = []
    for slot in numpy.asarray(logits, numpy.float64):
        c = 1.0
        for step in slot:
            e = numpy.exp(step - step.max())
            c *= float(e.max() / e.sum())
        words.append(c)
        total *= c
    return total, words


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def iou_plain(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def figures_plain(preds, truths, ious=None):
    """The report's figures from per-image lists of slot strings (same number of slots)."""
    images = len(preds)
    seq = sum(all(p == t for p, t in zip(ps, ts)) for ps, ts in zip(preds, truths)) / images
    present = [(p, t) for ps, ts in zip(preds, truths) for p, t in zip(ps, ts) if t]
    word = sum(p == t for p, t in present) / len(present)
    either = [(p, t) for ps, ts in zip(preds, truths) for p, t in zip(ps, ts) if p or t]
    matches = sum(sum(x == y for x, y in zip(p, t)) for p, t in either)
    char = matches / sum(max(len(p), len(t)) for p, t in either)
    ned = sum(levenshtein(p, t) / max(len(p), len(t)) for p, t in either) / len(either)
    out = {'sequence_accuracy': seq, 'word_accuracy': word, 'char_accuracy': char,
           'edit_distance': ned, 'mean_iou': None, 'iou50': None}
    if ious:
        out['mean_iou'] = sum(ious) / len(ious)
        out['iou50'] = sum(v >= 0.5 for v in ious) / len(ious)
    return out


def write_words_gt(path, rows, num_words, max_chars, chars):
    """Published SEE format: header ``N<TAB>T``, then path and N*T class ids per line."""
    ids_of = {c: i for i, c in enumerate(chars) if i}
    lines = ['%d\t%d' % (num_words, max_chars)]
    for rel, words in rows:
        ids = []
        for k in range(num_words):
            w = words[k] if k < len(words) else ''
            ids += [ids_of[c] for c in w] + [0] * (max_chars - len(w))
        lines.append('\t'.join([rel] + [str(i) for i in ids]))
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def write_boxes_json(path, entries, views=1):
    """``NAME.boxes.json``: ``entries`` = [(rel, (W, H), [[x0, y0, x1, y1], ...])]."""
    doc = {'format': 'chainer-see boxes', 'version': 1, 'views': views,
           'images': {rel: {'size': [w, h], 'boxes': [list(map(float, b)) for b in boxes]}
                      for rel, (w, h), boxes in entries}}
    with open(path, 'w') as f:
        json.dump(doc, f)


def to_model_pixels(box, from_wh, to_hw):
    """A box of an image ``from_wh = (W, H)`` in the pixels of that image resized to
    ``to_hw = (H', W')`` (edges to edges)."""
    sx, sy = to_hw[1] / from_wh[0], to_hw[0] / from_wh[1]
    return [(box[0] + 0.5) * sx - 0.5, (box[1] + 0.5) * sy - 0.5,
            (box[2] + 0.5) * sx - 0.5, (box[3] + 0.5) * sy - 0.5]


def save(model, path, **metadata):
    chainer_see.save_model(model, path, metadata=metadata or None)
    return path


def chars_of(config):
    return config.get_char_map().chars
