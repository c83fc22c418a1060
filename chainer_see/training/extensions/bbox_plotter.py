"""``BBoxPlotter``: pictures of what the model finds and reads on fixed validation images.

Every ``k`` iterations (its trigger) the model runs in test mode on the same few
validation images and one PNG is written, ``OUT/boxes/iter_XXXXXX.png``: per image a row
with

* the image (enlarged) with the predicted box of every region drawn as the grid's
  quadrilateral, one colour per region (all views of a region in the same colour) and,
  where the dataset knows them, the true boxes as thin white rectangles;
* with ``heatmaps=True`` the VisualBackprop heat map of the localization network
  blended over the image;
* the crops the recognition network read, one row per region (the V views side by side),
  framed in the region's colour;
* per region the decoded prediction (green when it equals the label, red when not) and
  the label.

``finalize`` (the end of training, also after a crash) assembles the PNGs into
``OUT/boxes/training.gif`` (at most ``gif_frames`` frames, evenly spaced, the last one
held longer).
"""
import glob
import os

import numpy
from PIL import Image, ImageDraw, ImageFont

from chainer import backend
from chainer.training import extension

from chainer_see.atomic import atomic_file
from chainer_see.functions import grid_to_boxes
from chainer_see.evaluation import metrics
from chainer_see.evaluation.draw import PLOT_BACKGROUND as BACKGROUND
from chainer_see.evaluation.draw import PLOT_GAP as GAP
from chainer_see.evaluation.draw import PLOT_PALETTE as PALETTE
from chainer_see.evaluation.draw import display_scale, draw_quads, to_uint8
from chainer_see.evaluation.visual_backprop import localization_heatmaps, overlay

RIGHT = (0, 140, 0)
WRONG = (200, 0, 0)
GREY = (90, 90, 90)
_fonts = {}


def get_font(size, mono=True):
    """DejaVu (matplotlib's copy) at ``size`` px; PIL's default font if it is missing."""
    key = (size, mono)
    if key not in _fonts:
        try:
            import matplotlib
            name = 'DejaVuSansMono.ttf' if mono else 'DejaVuSans.ttf'
            _fonts[key] = ImageFont.truetype(
                os.path.join(matplotlib.get_data_path(), 'fonts', 'ttf', name), size)
        except (ImportError, OSError):
            _fonts[key] = ImageFont.load_default()
    return _fonts[key]


def region_corners(grids, view_size, views):
    """Grids ``(B, N*V, 2, Ho, Wo)`` -> corners ``(B, N*V, 4, 2)`` in pixels of the whole
    image (top-left, top-right, bottom-right, bottom-left; views shifted)."""
    corners = numpy.array(backend.CpuDevice().send(grid_to_boxes(grids, view_size).corners))
    if views > 1:
        corners[..., 0] += (numpy.arange(corners.shape[1]) % views)[None, :, None] * view_size[1]
    return corners


def _draw_true(draw, boxes, scale):
    for x0, y0, x1, y1 in boxes:
        draw.rectangle([x0 * scale + scale / 2.0, y0 * scale + scale / 2.0,
                        x1 * scale + scale / 2.0, y1 * scale + scale / 2.0],
                       outline=(255, 255, 255), width=1)


def _draw_image_panels(canvas, image, heatmap, corners, true_boxes, colors, s, y0):
    """The image (``s`` times enlarged) with the predicted quadrilaterals and the true
    boxes, and the heat map panel when ``heatmap`` is given, pasted at row ``y0``;
    returns the x where the crops begin."""
    H, W = image.shape[1:]
    row_h = H * s
    img = to_uint8(image).resize((W * s, row_h), Image.NEAREST)
    d = ImageDraw.Draw(img)
    if true_boxes is not None:
        _draw_true(d, numpy.asarray(true_boxes), s)
    draw_quads(d, corners, colors, s, 2 if s > 1 else 1)
    canvas.paste(img, (0, y0))
    x = W * s + GAP
    if heatmap is not None:
        hm = Image.fromarray(overlay(image, heatmap))
        hm = hm.resize((W * s, row_h), Image.NEAREST)
        draw_quads(ImageDraw.Draw(hm), corners, colors, s, 1)
        canvas.paste(hm, (x, y0))
        x += W * s + GAP
    return x


def _draw_region_cells(canvas, draw, crops, reads, colors, views, where, cell, crops_w,
                       font):
    """Per region of one image (``where``: ``(x, y0, row_h)``): its ``views`` crops,
    ``cell`` ``(w, h)`` each, framed in its colour, then what was read (green when
    right, red when not) over the label (``reads``: ``(read, label, right)``)."""
    x, y0, row_h = where
    cw, ch = cell
    N = len(reads)
    band = row_h / float(N)
    for n in range(N):
        yc = y0 + int(n * band + (band - ch) / 2)
        for v in range(views):
            r = n * views + v
            crop = to_uint8(crops[r]).resize((cw, ch), Image.BILINEAR)
            cx = x + v * (cw + 4)
            draw.rectangle([cx, yc, cx + cw + 3, yc + ch + 3], fill=colors[r])
            canvas.paste(crop, (cx + 2, yc + 2))
        tx = x + crops_w + GAP
        ty = y0 + int(n * band + band / 2)
        read, label, ok = reads[n]
        pred = read or '(empty)'
        draw.text((tx, ty - font.size - 1), pred, fill=RIGHT if ok else WRONG, font=font)
        draw.text((tx, ty + 1), 'label ' + (label or '(empty)'), fill=GREY, font=font)


def render_rows(images, output, labels, char_map, views, view_size, heatmaps=None,
                true_boxes=None, title='', head=None):
    """The PNG of one step: a title line, then one row per image (module docstring).

    Args:
        images: ``(M, 3, H, W)`` float in [0, 1].
        output: the model's ``SEEOutput`` on them (arrays may be CuPy).
        labels: ``(M, N, T)`` ids.
        char_map: ``CharMap``.
        views, view_size: of the model config.
        heatmaps: ``(M, H, W)`` in [0, 1] or ``None``.
        true_boxes: list of ``(R, 4)`` arrays (or ``None`` entries) or ``None``.
        title: text of the first line.
        head: ``config.head`` (``'ctc'``: the logits are columns, read by best path).
    Returns a PIL RGB image.
    """
    cpu = backend.CpuDevice()
    images = numpy.asarray(cpu.send(images))
    M, _, H, W = images.shape
    crops = numpy.asarray(cpu.send(output.crops.array))          # (M, N*V, C, Ho, Wo)
    logits = output.logits.array
    N = logits.shape[1]
    corners = region_corners(output.grids.array, view_size, views)
    pred_text = metrics.decode(logits, char_map, head=head)       # (M, N) strings
    label_text = metrics.decode(labels, char_map)
    right = metrics.word_correct(logits, labels)                  # (M, N)

    s = display_scale((H, W))
    row_h = H * s
    Ho, Wo = crops.shape[-2:]
    cell = min(2.0, max(0.25, (row_h - (N - 1) * 2) / float(N * Ho)))
    if views > 1:    # the V crops of a region side by side: at most half the image width
        cell = min(cell, max(0.25, W * s / (2.0 * views * (Wo + 4))))
    ch, cw = max(1, int(round(Ho * cell))), max(1, int(round(Wo * cell)))
    crops_w = views * (cw + 4)
    font = get_font(max(11, min(18, int(round(min(ch, row_h / max(N, 1)) / 2.6)))))
    tmp = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    T = labels.shape[-1]                  # characters (a ctc head has 2T+1 columns)
    text_w = int(tmp.textlength('label ' + 'W' * min(T, 24), font=font)) + 2 * GAP
    n_panels = 2 if heatmaps is not None else 1
    width = n_panels * (W * s + GAP) + crops_w + text_w + GAP
    title_font = get_font(14, mono=False)
    legend_font = get_font(11, mono=False)
    title_h = 40 if title else 0
    legend = 'colour: region' + (', white: true box' if true_boxes is not None
                                 and any(b is not None for b in true_boxes) else '') \
        + '; read (green: right), label'
    if title:
        width = max(width, int(tmp.textlength(title, font=title_font)) + GAP,
                    int(tmp.textlength(legend, font=legend_font)) + GAP)
    canvas = Image.new('RGB', (width, title_h + M * (row_h + GAP)), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((GAP // 2, 4), title, fill=(0, 0, 0), font=title_font)
        draw.text((GAP // 2, 22), legend, fill=GREY, font=legend_font)
    colors = [PALETTE[(r // views) % len(PALETTE)] for r in range(N * views)]
    for m in range(M):
        y0 = title_h + m * (row_h + GAP)
        heatmap = None if heatmaps is None else numpy.asarray(cpu.send(heatmaps[m]))
        x = _draw_image_panels(canvas, images[m], heatmap, corners[m],
                               None if true_boxes is None else true_boxes[m], colors, s, y0)
        reads = [(pred_text[m][n], label_text[m][n], bool(right[m, n])) for n in range(N)]
        _draw_region_cells(canvas, draw, crops[m], reads, colors, views, (x, y0, row_h),
                           (cw, ch), crops_w, font)
    return canvas


class BBoxPlotter(extension.Extension):
    """Trainer extension writing ``iter_XXXXXX.png`` (and at the end ``training.gif``).

    Args:
        model: ``SEE``.
        images: ``(M, 3, H, W)`` float32 fixed validation images.
        labels: ``(M, N, T)`` their labels.
        out_dir: folder of the PNGs (created).
        true_boxes: per image ``(R, 4)`` true boxes or ``None``.
        heatmaps (bool): add the VisualBackprop panel.
        describe (callable or None): ``describe(trainer)`` -> text after the iteration
            in the title (e.g. the curriculum level).
        pictures (``levels.LevelView`` or None): ``(images, labels, true_boxes)`` of the
            current curriculum level, read at every call; a new level's replace
            the images drawn (its N differs).
        gif (bool): assemble ``training.gif`` in ``finalize``.
        gif_frames (int): at most this many frames in the GIF.
        frame_ms (int): milliseconds per GIF frame.
    """

    trigger = (500, 'iteration')
    priority = extension.PRIORITY_READER
    name = 'BBoxPlotter'

    def __init__(self, model, images, labels, out_dir, true_boxes=None, heatmaps=False,
                 describe=None, gif=True, gif_frames=120, frame_ms=250, pictures=None):
        self.model = model
        self.out_dir = out_dir
        self.heatmaps = bool(heatmaps)
        self.describe = describe
        self.gif = bool(gif)
        self.gif_frames = int(gif_frames)
        self.frame_ms = int(frame_ms)
        self.written = []
        self.pictures = pictures
        self._shown = pictures.get() if pictures is not None else None
        self.set_images(images, labels, true_boxes)

    def set_images(self, images, labels, true_boxes=None):
        """Draw these images from now on (a curriculum level changes N)."""
        self.images = numpy.asarray(images, dtype=numpy.float32)
        self.labels = numpy.asarray(labels, dtype=numpy.int32)
        self.true_boxes = true_boxes

    def render(self, title=''):
        """The current picture as a PIL image."""
        model = self.model
        cfg = model.config
        x = model.device.send(self.images)
        if self.heatmaps:
            out, masks = localization_heatmaps(model, x)
        else:
            out, masks = model.infer(x), None
        return render_rows(self.images, out, self.labels, cfg.get_char_map(), cfg.views,
                           cfg.view_size, heatmaps=masks, true_boxes=self.true_boxes,
                           title=title, head=cfg.head)

    def __call__(self, trainer):
        if self.pictures is not None and self.pictures.get() is not self._shown:
            self._shown = self.pictures.get()
            self.set_images(*self._shown)
        it = trainer.updater.iteration
        title = 'iteration %d' % it
        if self.describe is not None:
            title += '  ' + self.describe(trainer)
        path = os.path.join(self.out_dir, 'iter_%06d.png' % it)
        save_image_atomic(self.render(title), path)
        self.written.append(path)

    def finalize(self):
        if self.gif:
            try:
                make_gif(self.out_dir, max_frames=self.gif_frames, frame_ms=self.frame_ms)
            except Exception as e:   # a picture must never break the end of training
                print('BBoxPlotter: could not assemble the GIF: %s' % e)


def save_image_atomic(image, path):
    """Save a PIL image as PNG/GIF through a temporary file and a rename."""
    fmt = 'GIF' if path.lower().endswith('.gif') else 'PNG'
    with atomic_file(path) as f:
        image.save(f, format=fmt)


def make_gif(folder, pattern='iter_*.png', name='training.gif', max_frames=120, frame_ms=250,
             hold_ms=2000):
    """Assemble ``folder/pattern`` (in name order) into ``folder/name``; returns its path or
    ``None`` without frames.  Frames of different sizes are padded with white."""
    paths = sorted(glob.glob(os.path.join(folder, pattern)))
    if not paths:
        return None
    if len(paths) > max_frames:
        pick = numpy.unique(numpy.linspace(0, len(paths) - 1, max_frames).round().astype(int))
        paths = [paths[i] for i in pick]
    frames = [Image.open(p).convert('RGB') for p in paths]
    W = max(f.width for f in frames)
    H = max(f.height for f in frames)
    padded = []
    for f in frames:
        if f.size != (W, H):
            g = Image.new('RGB', (W, H), BACKGROUND)
            g.paste(f, (0, 0))
            f = g
        padded.append(f.quantize(colors=255, method=Image.MEDIANCUT))
    durations = [frame_ms] * (len(padded) - 1) + [hold_ms]
    target = os.path.join(folder, name)
    with atomic_file(target) as f:
        padded[0].save(f, format='GIF', save_all=True, append_images=padded[1:],
                       duration=durations, loop=0)
    return target
