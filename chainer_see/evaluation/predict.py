"""Words and boxes of arbitrary images: ``predict.py`` and the function behind it.

    from chainer_see import load_model
    from chainer_see.evaluation.predict import predict
    for p in predict(load_model('model.npz'), ['photo.jpg', 'sign.png']):
        print(p.path, p.words, p.boxes, p.error)

Any size and PIL mode is accepted (``chainer_see.data.image``: transparency on white,
16-bit grey scaled, ...).  An image is resized to the model input and the predicted
boxes are mapped back to its own pixels (pixel-centre convention, ``x' = (x + 0.5) *
W'/W - 0.5``).

Multi-view models (FSNS: four 150x150 views side by side, 600x150): an image whose
aspect ratio is within ``ASPECT_TOLERANCE`` of the model input's is split into the views
like an FSNS image; any other image (a single photo of a sign) is resized to one view
and repeated into all of them (``views='auto'``; ``'split'`` / ``'repeat'`` force
either).  A repeated image gets one box per word (its views are the same picture, so
they give the same box), a split one ``N * V`` boxes, region-major.

``--lexicon FILE`` (a ``'ctc'`` head model only): every word read is replaced by the
lexicon word CRNN's lexicon decoding chooses (``lexicon.lexicon_decode``: of the words
within ``--lexicon-distance`` edits of the greedy reading, the one of highest CTC
probability; none within reach: the greedy reading stays); an empty slot stays empty.
The word's confidence is then the CTC probability of the chosen word.

``--backend onnxruntime`` reads a file written by ``export.py`` instead
(``chainer_see.export.OnnxSEE``, which ``predict`` takes where it takes a ``SEE``): the
same words, boxes and pictures, without Chainer's forward pass.
"""
import argparse
import collections
import json
import math
import os
import sys

import numpy

from chainer_see.cli_types import count, positive_int
from chainer_see.data.errors import EXIT_BAD_INPUT, DataError, error_line
from chainer_see.data.image import check_size, open_image, pil_to_array
from chainer_see.evaluation import draw as draw_mod
from chainer_see.evaluation import inference
from chainer_see.evaluation import lexicon as lexicon_mod
from chainer_see.evaluation.cli_checks import HelpFormatter, check_output_folder
from chainer_see import zoo
from chainer_see.config import PRESETS as MODEL_PRESETS

#: an image counts as multi-view when its aspect ratio is within this factor of the
#: model input's (FSNS: 4:1 -> 3.33:1 .. 4.8:1)
ASPECT_TOLERANCE = 1.2
VIEW_MODES = ('auto', 'split', 'repeat')
#: ``--backend``: Chainer (a model file) or onnxruntime (a file written by ``export.py``)
BACKENDS = ('chainer', 'onnxruntime')

Prediction = collections.namedtuple('Prediction', [
    'path', 'size', 'mode', 'words', 'boxes', 'word_confidences', 'confidence', 'repeated',
    'note', 'error'])
Prediction.__doc__ = """What the model read in one image.

path: the file (or ``'<image k>'`` for an in-memory image).
size: ``(W, H)`` of the image as stored.   mode: its PIL mode.
words: N strings, one per word slot in reading order (``''`` = empty slot).
boxes: float32 ``(N, 4)`` (single view or repeated) or ``(N * V, 4)`` (split views,
    region-major) in pixels of the image as stored.
word_confidences: N floats; confidence: float (see ``evaluation.inference``).
repeated: True when the image was repeated into the model's views.
note: a line for the user (e.g. why the image was repeated) or ``None``.
error: ``None``, or the reason the image could not be read (the other fields are then
    empty / ``None``).
"""


def _failed(path, reason):
    return Prediction(path, None, None, [], numpy.zeros((0, 4), numpy.float32), [], None,
                      False, None, reason)


def plan_views(size, config, views='auto'):
    """Decide how an image of ``size = (W, H)`` is fed to a model of ``config``.

    Returns ``(repeat: bool, note or None)``.  Single-view models never repeat.
    """
    if views not in VIEW_MODES:
        raise ValueError('views must be one of %s, got %r' % (VIEW_MODES, views))
    V = config.views
    if V == 1 or views == 'split':
        return False, None
    H, W = config.image_size
    aspect, want = size[0] / float(size[1]), W / float(H)
    if views == 'repeat':
        return True, 'repeated into %d views (--views repeat)' % V
    if abs(math.log(aspect / want)) <= math.log(ASPECT_TOLERANCE):
        return False, None
    return True, ('a single image, not %d views side by side (aspect %.2f:1, the model '
                  'reads %.2f:1): repeated into %d views' % (V, aspect, want, V))


def prepare(img, config, repeat):
    """PIL image -> float32 ``(3, H, W)`` model input (resized, or repeated into views)."""
    if not repeat:
        return pil_to_array(img, config.image_size)
    view = pil_to_array(img, config.view_size)
    return numpy.ascontiguousarray(numpy.tile(view, (1, 1, config.views)))


def boxes_to_image(boxes, config, size, repeat):
    """Model-input boxes ``(N * V, 4)`` -> boxes in pixels of an image of ``size = (W, H)``.

    Repeated images keep view 0's box of every region (``(N, 4)``); the others map the
    whole model input onto the image.
    """
    from chainer_see.data.boxes import rescale_boxes
    W, H = size
    b = numpy.asarray(boxes, numpy.float32).reshape(-1, 4)
    if repeat:
        V = config.views
        return rescale_boxes(b[0::V], config.view_size, (H, W))
    return rescale_boxes(b, config.image_size, (H, W))


def _open(item, k):
    if isinstance(item, (str, bytes, os.PathLike)):
        path = os.fsdecode(item)
        img = open_image(path)
    else:
        path, img = '<image %d>' % k, item
    check_size(path, img.size)
    return path, img


def check_lexicon_model(config):
    """``ValueError`` (one line) unless the model has the ``'ctc'`` head that
    ``--lexicon`` needs."""
    if config.head != 'ctc':
        raise ValueError("--lexicon needs a model with the ctc head (train.py --head ctc); "
                         "this model's head is %r" % (config.head,))


def add_lexicon_options(p):
    """``--lexicon FILE`` and ``--lexicon-distance D`` (``predict.py``, ``evaluate.py``)."""
    p.add_argument('--lexicon', default=None, metavar='FILE',
                   help='a word list (UTF-8, one word per line): every word read is replaced '
                        'by the lexicon word of highest CTC probability among those within '
                        '--lexicon-distance edits of it (CRNN\'s lexicon decoding; empty '
                        'slots stay empty). Needs a model with the ctc head (train.py --head '
                        'ctc) (default: none, the words as read)')
    p.add_argument('--lexicon-distance', type=count, default=3, metavar='D',
                   help='largest edit distance between the word read and a lexicon word '
                        '(CRNN: 3)')


def open_lexicon(path, config):
    """The ``BKTree`` of ``--lexicon path`` for a model of ``config``: ``ValueError`` (one
    line) for a model without the ctc head or a file without a word,
    ``FileNotFoundError`` for a missing file."""
    check_lexicon_model(config)
    tree = lexicon_mod.BKTree(lexicon_mod.load_lexicon(path))
    if not len(tree):
        raise ValueError('--lexicon %s holds no word' % path)
    return tree


def read_with_lexicon(model, x, char_map, tree, max_distance=3, device=None):
    """Forward ``x`` once (test mode) and read every word slot under the lexicon ``tree``
    (module docstring): a ``Reading`` whose words, ids (the words encoded, blank-padded
    or cut to T) and confidences are the lexicon's choices."""
    from chainer_see.links.see import read_output
    cfg = model.config
    check_lexicon_model(cfg)
    logits, boxes = inference.forward(model, x, device)
    r = read_output(logits, boxes, char_map, head=cfg.head, num_chars=cfg.num_chars)
    words = [list(ws) for ws in r.words]
    log_conf = numpy.log(numpy.maximum(r.word_confidences, 1e-300))
    for b, ws in enumerate(words):
        for n, greedy in enumerate(ws):
            if not greedy:
                continue          # an empty slot stays empty
            ws[n], log_conf[b, n] = lexicon_mod.lexicon_decode(
                logits[b, n], char_map, tree, max_distance)
    word_conf = numpy.exp(log_conf)
    ids = numpy.zeros_like(r.ids)
    for b, ws in enumerate(words):
        for n, w in enumerate(ws):
            enc = char_map.encode(w)[:ids.shape[-1]]
            ids[b, n, :len(enc)] = enc
    return r._replace(ids=ids, words=words, word_confidences=word_conf,
                      confidences=numpy.exp(log_conf.sum(axis=-1)))


def iter_predict(model, images, batch_size=8, device=None, views='auto', lexicon=None,
                 lexicon_distance=3):
    """Yield ``(Prediction, PIL image or None)`` for every item of ``images`` (paths or
    PIL images), in input order, a batch at a time (only one batch of images is held).

    Unreadable files and images too small to read (``data.image.MIN_SIDE``) do not stop
    the others: their :class:`Prediction` carries the ``error`` and the image is ``None``.
    ``lexicon``: a ``lexicon.BKTree`` (or a list of words): read under it (ctc models
    only, module docstring), ``lexicon_distance`` its largest edit distance.
    """
    cfg = model.config
    char_map = cfg.get_char_map()
    if lexicon is not None:
        check_lexicon_model(cfg)
        if not isinstance(lexicon, lexicon_mod.BKTree):
            lexicon = lexicon_mod.BKTree(lexicon)
    pending = []     # (path, img, repeat, note) or a failed Prediction

    def flush():
        ok = [q for q in pending if not isinstance(q, Prediction)]
        read = None
        if ok:
            x = numpy.stack([prepare(img, cfg, rep) for _, img, rep, _ in ok])
            if lexicon is None:
                read = inference.read(model, x, char_map, device)
            else:
                read = read_with_lexicon(model, x, char_map, lexicon, lexicon_distance,
                                         device)
        j = 0
        for q in pending:
            if isinstance(q, Prediction):
                yield q, None
                continue
            path, img, rep, note = q
            boxes = boxes_to_image(read.boxes[j], cfg, img.size, rep)
            yield Prediction(path, img.size, img.mode, list(read.words[j]), boxes,
                             [float(c) for c in read.word_confidences[j]],
                             float(read.confidences[j]), rep, note, None), img
            j += 1
        del pending[:]

    for k, item in enumerate(images):
        try:
            path, img = _open(item, k)
        except DataError as e:
            name = os.fsdecode(item) if isinstance(item, (str, bytes, os.PathLike)) \
                else '<image %d>' % k
            pending.append(_failed(name, e.reason))
            continue
        repeat, note = plan_views(img.size, cfg, views)
        pending.append((path, img, repeat, note))
        if sum(not isinstance(q, Prediction) for q in pending) >= batch_size:
            yield from flush()
    yield from flush()


def predict(model, images, batch_size=8, device=None, views='auto', lexicon=None,
            lexicon_distance=3):
    """Read every image in ``images`` (paths or PIL images) with ``model`` (a ``SEE``);
    returns a list of :class:`Prediction` in input order (see :func:`iter_predict`)."""
    return [p for p, _ in iter_predict(model, images, batch_size, device, views, lexicon,
                                       lexicon_distance)]


def annotate(prediction, image, views=1):
    """The annotated picture of one prediction (``draw.draw_boxes``) as a PIL image."""
    v = 1 if prediction.repeated else views
    return draw_mod.draw_boxes(image, prediction.boxes, prediction.words, views=v)


def _unique_path(folder, stem, used):
    name = stem + '.see.png'
    k = 2
    # a name taken in this run, or by a folder (which an image cannot replace)
    while name in used or os.path.isdir(os.path.join(folder, name)):
        name = '%s-%d.see.png' % (stem, k)
        k += 1
    used.add(name)
    return os.path.join(folder, name)


def _fmt_box(b):
    return '(%s)' % ', '.join('%.1f' % v for v in b)


def format_prediction(p, views):
    """Text lines of one prediction for the terminal."""
    W, H = p.size
    head = '%s  (%dx%d %s%s)' % (p.path, W, H, p.mode, '; ' + p.note if p.note else '')
    lines = [head]
    per = 1 if p.repeated else views
    w = max([len(x) for x in p.words] + [4])
    for n, word in enumerate(p.words):
        boxes = p.boxes[n * per:(n + 1) * per]
        lines.append('  %d  %-*s  confidence %.3g  box %s' % (
            n + 1, w, word or '-', p.word_confidences[n], ' '.join(_fmt_box(b) for b in boxes)))
    text = ' '.join(x for x in p.words if x)
    lines.append('  text: %s   (confidence %.3g)' % (text or '(nothing read)', p.confidence))
    return lines


def _sig(v):
    return float('%.6g' % v)


def prediction_dict(p, annotated=None):
    """JSON-ready dict of one prediction."""
    if p.error is not None:
        return {'path': p.path, 'error': p.error}
    return {
        'path': p.path, 'width': p.size[0], 'height': p.size[1], 'mode': p.mode,
        'text': ' '.join(x for x in p.words if x), 'words': p.words,
        'boxes': [[round(float(v), 2) for v in b] for b in p.boxes],
        'word_confidences': [_sig(c) for c in p.word_confidences],
        'confidence': _sig(p.confidence), 'repeated_into_views': p.repeated,
        'note': p.note, 'annotated': annotated,
    }


def build_parser():
    p = argparse.ArgumentParser(
        prog='predict.py',
        description='Read the words of images with a SEE model file and save annotated '
                    'copies. Any size and mode of image is accepted: it is resized to the '
                    'model input and the boxes are mapped back to its own pixels. For '
                    'multi-view (FSNS) models a single photo is repeated into the views.',
        formatter_class=HelpFormatter)
    p.add_argument('model', help='model file (.npz) written by train.py, the name of a zoo '
                                 'model (models/NAME.npz: %s), or a published-layout weight '
                                 'file (then also pass --preset); with --backend onnxruntime '
                                 'an .onnx file written by export.py'
                                 % (', '.join(zoo.names()) or 'none yet'))
    p.add_argument('images', nargs='+', metavar='IMAGE', help='image files')
    p.add_argument('--backend', choices=BACKENDS, default='chainer',
                   help='run the model in Chainer, or an exported .onnx file in onnxruntime '
                        '(needs pip install -e .[export]; the file alone is enough: it '
                        'carries its char map and input size)')
    p.add_argument('--preset', default=None, choices=tuple(MODEL_PRESETS),
                   help='model preset for a weight file without a stored configuration '
                        '(default: none: the file must carry its configuration)')
    p.add_argument('--out', default='predictions', metavar='DIR',
                   help='folder for the annotated images (IMAGE_NAME.see.png), created if '
                        'missing; an existing file as DIR is refused before any work')
    p.add_argument('--no-draw', action='store_true', help='do not save annotated images')
    p.add_argument('--json', action='store_true',
                   help='print one JSON document (a list, one object per image; failed '
                        'images carry "error") instead of text')
    p.add_argument('--views', choices=VIEW_MODES, default='auto',
                   help='multi-view models: split the image into the views, repeat it into '
                        'every view, or decide by its aspect ratio (auto: an image within '
                        "%.0f %%%% of the model input's aspect ratio is split, any other "
                        'repeated)' % (100 * (ASPECT_TOLERANCE - 1)))
    add_lexicon_options(p)
    p.add_argument('--batch-size', type=positive_int, default=8, help='images per forward')
    p.add_argument('--gpu', type=int, default=-1, metavar='N',
                   help='GPU to run on (CuPy device N); -1 = CPU')
    return p


def open_backend(args):
    """``(model, device)`` of ``--backend``: a ``SEE`` on ``--gpu``'s device, or an
    ``export.OnnxSEE`` (device ``None``) that ``iter_predict`` runs the same way."""
    if args.backend == 'onnxruntime':
        from chainer_see.export import OnnxSEE
        return OnnxSEE(args.model, gpu=args.gpu), None
    if args.model.endswith('.onnx'):
        raise ValueError('%s: an ONNX file; read it with --backend onnxruntime' % args.model)
    args.model = inference.model_path(args.model)
    model, device, _, _ = inference.open_model(args.model, args.preset, args.gpu)
    return model, device


def main(argv=None, stdout=None):
    """``predict.py``; returns 0, or 2 when an image or the model could not be read."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    try:
        if not args.no_draw:
            check_output_folder(args.out, '--out')
        model, device = open_backend(args)
        tree = None
        if args.lexicon is not None:
            tree = open_lexicon(args.lexicon, model.config)
    except (DataError, ValueError, FileNotFoundError, ImportError) as e:
        sys.stderr.write(error_line(e) + '\n')
        return EXIT_BAD_INPUT
    used, docs, failed = set(), [], 0
    for p, img in iter_predict(model, args.images, args.batch_size, device, args.views,
                               tree, args.lexicon_distance):
        if p.error is not None:
            failed += 1
            sys.stderr.write('%s: %s\n' % (p.path, p.error))
            docs.append(prediction_dict(p))
            continue
        annotated = None
        if not args.no_draw:
            stem = os.path.splitext(os.path.basename(p.path))[0] or 'image'
            os.makedirs(args.out, exist_ok=True)    # only once there is something to save
            annotated = _unique_path(args.out, stem, used)
            annotate(p, img, model.config.views).save(annotated)
        docs.append(prediction_dict(p, annotated))
        if not args.json:
            for line in format_prediction(p, model.config.views):
                out.write(line + '\n')
            if annotated:
                out.write('  annotated: %s\n' % annotated)
    if args.json:
        # one image per line: readable, and still one JSON document
        out.write('[\n' + ',\n'.join(json.dumps(d, ensure_ascii=False) for d in docs)
                  + '\n]\n')
    if failed:
        if len(args.images) > 1:     # one image: its own line has said it all
            sys.stderr.write('%d of %d images could not be read\n' % (failed, len(args.images)))
        return EXIT_BAD_INPUT
    return 0
