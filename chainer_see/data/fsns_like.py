"""FSNS-like images: four 150x150 views of one French street-name sign, 600x150.

Names are composed from French street types, articles and names (only characters of
the FSNS char map; no hyphens or apostrophes, which it lacks), 1-4 words of at most
21 characters, sometimes in capitals.  A sign (Paris blue with a green frame, white
enamel, green, black, brown, red or yellow schemes) holds the words on 1-3 lines.
Each view warps the sign by its own perspective (yaw, pitch, roll, scale, position),
on its own background, with its own lighting, blur and noise.

Word boxes: each word's ink box on the flat sign, its four corners mapped through
the view's homography, the bounding box of those (pixels of the 600x150 image).
Words and boxes are in reading order (the sign's lines top to bottom, left to right,
which is the order of the text); boxes are region-major, index ``n * 4 + v``.
"""
import numpy
from PIL import Image, ImageDraw

from chainer_see.data import render
from chainer_see.data.reading_order import reading_order
from chainer_see.data.sample import Sample

VIEW = 150
VIEWS = 4

TYPES = (
    'Rue', 'Avenue', 'Boulevard', 'Place', 'Impasse', 'Allée', 'Chemin', 'Quai', 'Route',
    'Passage', 'Square', 'Cours', 'Villa', 'Cité', 'Sentier', 'Chaussée', 'Esplanade',
    'Parvis', 'Promenade', 'Résidence', 'Hameau', 'Ruelle', 'Venelle', 'Voie', 'Carrefour',
    'Galerie', 'Pont', 'Porte', 'Jardin', 'Parc', 'Clos', 'Montée', 'Traverse', 'Faubourg',
    'Mail', 'Rond Point', 'Grande Rue', 'Petite Rue', 'Vieille Route', 'Ancienne Route',
)
SURNAMES = (
    'Pasteur', 'Gambetta', 'Voltaire', 'Molière', 'Racine', 'Corneille', 'Rabelais',
    'Lamartine', 'Mirabeau', 'Danton', 'Condorcet', 'Diderot', 'Montaigne', 'Colbert',
    'Turenne', 'Vauban', 'Lafayette', 'Kléber', 'Hoche', 'Carnot', 'Michelet', 'Baudelaire',
    'Verlaine', 'Rimbaud', 'Balzac', 'Flaubert', 'Zola', 'Renoir', 'Delacroix', 'Chopin',
    'Berlioz', 'Debussy', 'Ravel', 'Bizet', 'Gounod', 'Fénelon', 'Pascal', 'Descartes',
    'Buffon', 'Lavoisier', 'Ampère', 'Arago', 'Cuvier', 'Lamarck', 'Curie', 'Branly',
    'Parmentier', 'Jaurès', 'Clemenceau', 'Poincaré', 'Gallieni', 'Joffre', 'Foch',
    'Leclerc', 'Lyautey', 'Marceau', 'Richelieu', 'Mazarin', 'Sully', 'Montesquieu',
    'Rousseau', 'Beaumarchais', 'Chateaubriand', 'Stendhal', 'Musset', 'Vigny', 'Daudet',
    'Mistral', 'Péguy', 'Apollinaire', 'Prévert', 'Aragon', 'Éluard', 'Camus', 'Malraux',
    'Proust', 'Cocteau', 'Ronsard', 'Watteau', 'Ingres', 'Courbet', 'Manet', 'Cézanne',
    'Gauguin', 'Rodin', 'Daumier', 'Guesde', 'Bonaparte', 'Championnet', 'Duquesne',
)
FIRST_NAMES = (
    'Victor', 'Jean', 'Jules', 'Émile', 'Louis', 'Pierre', 'Marie', 'Anatole', 'Paul',
    'Camille', 'Georges', 'Édouard', 'Henri', 'Gabriel', 'Maurice', 'Roger', 'Léon',
    'Aristide', 'Charles', 'Alphonse', 'Claude', 'Hector', 'Albert', 'Alexandre', 'Edmond',
    'Frédéric', 'Lucie', 'Simone', 'Gustave', 'Sadi', 'Auguste', 'François', 'Jacques',
    'André', 'Joseph', 'Françoise', 'Hélène', 'Geneviève', 'Thérèse', 'Honoré', 'Étienne',
)
TITLES = (
    'Général', 'Maréchal', 'Président', 'Docteur', 'Abbé', 'Colonel', 'Capitaine',
    'Commandant', 'Amiral', 'Professeur', 'Lieutenant', 'Sergent', 'Pasteur', 'Saint',
    'Sainte',
)
NOUNS_LA = (
    'Paix', 'République', 'Liberté', 'Gare', 'Mairie', 'Fontaine', 'Poste', 'Croix', 'Forêt',
    'Mer', 'Plage', 'Résistance', 'Victoire', 'Libération', 'Chapelle', 'Tour', 'Vallée',
    'Source', 'Colline', 'Butte', 'Roquette', 'Convention', 'Nation', 'Bastille', 'Madeleine',
    'Chaussée', 'Prairie', 'Garenne', 'Folie', 'Grange', 'Ferme', 'Justice', 'Concorde',
)
NOUNS_DU = (
    'Moulin', 'Château', 'Marché', 'Stade', 'Port', 'Lac', 'Pont', 'Parc', 'Bourg',
    'Commerce', 'Temple', 'Calvaire', 'Presbytère', 'Four', 'Puits', 'Bois', 'Canal',
    'Cimetière', 'Cloître', 'Louvre', 'Faubourg', 'Roi', 'Rempart', 'Midi', 'Nord', 'Val',
)
NOUNS_DES = (
    'Lilas', 'Tilleuls', 'Écoles', 'Acacias', 'Peupliers', 'Marronniers', 'Roses', 'Vignes',
    'Jardins', 'Prés', 'Champs', 'Sports', 'Fleurs', 'Pins', 'Chênes', 'Saules', 'Platanes',
    'Cerisiers', 'Bleuets', 'Alouettes', 'Mésanges', 'Fusillés', 'Martyrs', 'Vergers',
    'Coquelicots', 'Tanneurs', 'Orfèvres', 'Écouffes', 'Rosiers', 'Carmes', 'Capucins',
    'Ursulines', 'Jacobins', 'Cordeliers', 'Francs Bourgeois', 'Quatre Vents', 'Trois Bornes',
    'Deux Ponts', 'Blancs Manteaux', 'Grands Augustins', 'Petits Champs',
)
ONE_WORD = SURNAMES + ('Mairie', 'Gare', 'Centre', 'Plage', 'Port', 'Église', 'Marché',
                       'Château', 'Stade', 'Hôpital', 'Lycée', 'Collège', 'Cathédrale')


def _words(s):
    return s.split(' ')


def street_name(rng, k):
    """A street name of exactly ``k`` (1..4) words, as a list of words."""
    typ = lambda: _words(rng.choice(TYPES))  # noqa: E731
    person2 = lambda: [rng.choice(FIRST_NAMES), rng.choice(SURNAMES)]  # noqa: E731
    options = {
        1: [lambda: [rng.choice(ONE_WORD)]],
        2: [lambda: typ()[:1] + [rng.choice(SURNAMES)], person2,
            lambda: [rng.choice(TITLES), rng.choice(SURNAMES)],
            lambda: typ()[:1] + _words(rng.choice(NOUNS_DES))[:1]],
        3: [lambda: typ() + person2(), lambda: typ() + ['des'] + _words(rng.choice(NOUNS_DES)),
            lambda: typ() + ['du'] + [rng.choice(NOUNS_DU)],
            lambda: typ() + [rng.choice(TITLES), rng.choice(SURNAMES)],
            lambda: typ() + ['de'] + [rng.choice(SURNAMES)]],
        4: [lambda: typ() + ['de', 'la', rng.choice(NOUNS_LA)],
            lambda: typ() + ['du', rng.choice(TITLES), rng.choice(SURNAMES)],
            lambda: typ() + ['des'] + _words(rng.choice(NOUNS_DES)),
            lambda: typ() + ['du'] + [rng.choice(NOUNS_DU), rng.choice(('Vieux', 'Neuf', 'Haut',
                                                                         'Bas', 'Nord', 'Sud'))],
            lambda: typ() + person2() + [rng.choice(SURNAMES)],
            lambda: typ() + ['Saint', rng.choice(FIRST_NAMES)],
            lambda: typ() + ['de', 'l' + rng.choice(('Église', 'Abbaye', 'Étang', 'Orme'))]],
    }
    for _ in range(100):
        words = rng.choice(options[k])()
        if len(words) == k:
            return words
    raise RuntimeError('no street name of %d words' % k)  # pragma: no cover


# (sign colour, text colour, frame colour or None)
SCHEMES = (
    ((28, 58, 118), (245, 245, 245), (34, 110, 64)),     # Paris: blue, white, green frame
    ((245, 245, 240), (20, 20, 20), (20, 20, 20)),       # white enamel
    ((245, 245, 240), (20, 40, 120), (20, 40, 120)),
    ((18, 105, 55), (245, 245, 245), (245, 245, 245)),   # green
    ((20, 20, 22), (240, 240, 240), None),               # black
    ((20, 20, 22), (225, 190, 90), (225, 190, 90)),      # black and gold
    ((0, 70, 160), (250, 250, 250), (250, 250, 250)),    # blue enamel
    ((92, 52, 30), (240, 225, 190), None),               # brown, cream
    ((165, 28, 30), (250, 250, 250), (250, 250, 250)),   # red
    ((240, 205, 40), (20, 20, 20), (20, 20, 20)),        # yellow
)
SIGN_FONTS = (0, 1, 4, 5, 8, 9, 2, 3)  # Sans, Sans-Bold, Serif, Serif-Bold, Mono(+Bold), ...


def _jitter(rng, colour, amount):
    return tuple(min(max(c + rng.uniform(-amount, amount), 0.0), 255.0) for c in colour)


MIN_VIEW_FONT = 13.0  # font size (px) the text keeps in a view at the largest sign width


def _splits(k, n_lines):
    import itertools
    for cuts in itertools.combinations(range(1, k), n_lines - 1):
        b = (0,) + cuts + (k,)
        yield [(b[j], b[j + 1]) for j in range(n_lines)]


def _split_lines(rng, words, font, space, pad_x):
    """Words -> lines (consecutive groups).  A random line count among those that keep
    the text legible in a view; for each count the most balanced split."""
    k = len(words)
    lengths = [font.getlength(w) for w in words]
    best = []
    for n_lines in range(1, min(k, 4) + 1):
        cand = []
        for split in _splits(k, n_lines):
            width = max(sum(lengths[a:b]) + space * (b - a - 1) for a, b in split)
            cand.append((width, split))
        width, split = min(cand)
        view_font = font.size * 0.94 * VIEW / (width + 2 * pad_x)
        best.append((n_lines, view_font, split))
    good = [b for b in best if b[1] >= MIN_VIEW_FONT and b[0] <= 3] or \
        [max(best, key=lambda b: b[1])]
    n_lines, view_font, split = rng.choice(good)
    return [words[a:b] for a, b in split], view_font


def render_sign(rng, words, with_masks=False):
    """The flat sign: ``(RGBA image, word ink boxes (k, 4), per-word L masks or None)``.

    Word boxes are in the sign's pixels, pixel-edge coordinates (x0, y0, x1, y1).
    """
    font_index = rng.choice(SIGN_FONTS)
    size = rng.randint(20, 26)
    font = render.get_font(font_index, size)
    space = font.getlength(' ') * rng.uniform(0.9, 1.3)
    pad_x = size * rng.uniform(0.4, 0.9)
    lines, view_font = _split_lines(rng, words, font, space, pad_x)
    sub = render.get_font(font_index, max(int(size * rng.uniform(0.75, 0.9)), 12)) \
        if len(lines) > 1 and rng.random() < 0.3 else font  # a smaller first line
    line_fonts = [sub if j == 0 else font for j in range(len(lines))]
    asc = [f.getmetrics()[0] for f in line_fonts]
    desc = [f.getmetrics()[1] for f in line_fonts]
    widths = [sum(f.getlength(w) for w in ln) + space * (len(ln) - 1)
              for ln, f in zip(lines, line_fonts)]
    pad_y = size * rng.uniform(0.25, 0.5)
    leading = rng.uniform(0.0, 0.25) * size
    W = int(max(widths) + 2 * pad_x)
    H = int(sum(a + d for a, d in zip(asc, desc)) + leading * (len(lines) - 1) + 2 * pad_y)
    bg, fg, frame = SCHEMES[rng.randrange(len(SCHEMES))]
    bg, fg = _jitter(rng, bg, 18), _jitter(rng, fg, 18)
    sign = Image.new('RGBA', (W, H), tuple(int(c) for c in bg) + (255,))
    draw = ImageDraw.Draw(sign)
    if frame is not None and rng.random() < 0.8:
        t = rng.randint(1, 3)
        draw.rectangle([0, 0, W - 1, H - 1], outline=tuple(int(c) for c in _jitter(rng, frame, 15)),
                       width=t)
        if rng.random() < 0.5:
            draw.rectangle([t + 2, t + 2, W - t - 3, H - t - 3],
                           outline=tuple(int(c) for c in fg), width=1)
    text_layer = Image.new('L', (W, H), 0)
    boxes, masks = [], []
    y = pad_y
    align = rng.choice(('center', 'center', 'left'))
    for ln, f, a, d, lw in zip(lines, line_fonts, asc, desc, widths):
        x = (W - lw) / 2.0 if align == 'center' else pad_x
        for w in ln:
            layer = Image.new('L', (W, H), 0)
            ImageDraw.Draw(layer).text((x, y + a), w, fill=255, font=f, anchor='ls')
            bb = layer.getbbox()
            text_layer = Image.fromarray(numpy.maximum(numpy.asarray(text_layer),
                                                       numpy.asarray(layer)))
            boxes.append(bb)
            if with_masks:
                masks.append(layer)
            x += f.getlength(w) + space
        y += a + d + leading
    sign.paste(tuple(int(c) for c in fg) + (255,), (0, 0), text_layer)
    # Smallest share of the view width that keeps the font legible.
    min_share = min(0.94, max(0.62, 0.94 * MIN_VIEW_FONT / view_font))
    return sign, numpy.asarray(boxes, numpy.float64), (masks if with_masks else None), min_share


def homography(src, dst):
    """3x3 matrix H with ``dst ~ H @ (src, 1)`` for four point pairs."""
    A, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        A.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        A.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b.extend([u, v])
    h = numpy.linalg.solve(numpy.asarray(A, numpy.float64), numpy.asarray(b, numpy.float64))
    return numpy.append(h, 1.0).reshape(3, 3)


def _project(Hm, pts):
    p = numpy.c_[pts, numpy.ones(len(pts))] @ Hm.T
    return p[:, :2] / p[:, 2:3]


def view_quad(rng, sign_w, sign_h, min_share=0.62):
    """Where the sign's corners land in one 150x150 view (TL, TR, BR, BL); the sign
    spans ``min_share``-0.94 of the view width (less when it is too tall)."""
    aspect = sign_h / float(sign_w)
    width = VIEW * rng.uniform(min_share, 0.94)
    height = width * aspect
    if height > VIEW * 0.8:
        width *= VIEW * 0.8 / height
        height = VIEW * 0.8
    yaw = rng.uniform(-0.3, 0.3)    # relative height of the right edge vs the left
    pitch = rng.uniform(-0.12, 0.12)
    roll = numpy.deg2rad(rng.uniform(-6, 6))
    hl, hr = height * (1 - yaw / 2), height * (1 + yaw / 2)
    wt, wb = width * (1 - pitch / 2), width * (1 + pitch / 2)
    w_eff = width * (1 - abs(yaw) * 0.6)
    q = numpy.array([[-w_eff / 2 * wt / width, -hl / 2], [w_eff / 2 * wt / width, -hr / 2],
                     [w_eff / 2 * wb / width, hr / 2], [-w_eff / 2 * wb / width, hl / 2]])
    q += rng.uniform(-0.03, 0.03) * width * numpy.array(
        [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(4)])
    c, s = numpy.cos(roll), numpy.sin(roll)
    q = q @ numpy.array([[c, s], [-s, c]])
    lo, hi = q.min(axis=0), q.max(axis=0)
    margin = 3.0
    cx = rng.uniform(margin - lo[0], VIEW - margin - hi[0]) if hi[0] - lo[0] < VIEW - 2 * margin \
        else VIEW / 2.0
    cy = rng.uniform(margin - lo[1], VIEW - margin - hi[1]) if hi[1] - lo[1] < VIEW - 2 * margin \
        else VIEW / 2.0
    return q + numpy.array([cx, cy])


def _view_background(rng):
    bg = render.textured_background(rng, VIEW, VIEW, texture=rng.uniform(10.0, 50.0))
    # A few facade-like blocks (windows, doors, other signs) for clutter.
    for _ in range(rng.randint(0, 4)):
        x0, y0 = rng.randrange(VIEW), rng.randrange(VIEW)
        w, h = rng.randint(10, 60), rng.randint(10, 60)
        bg[y0:y0 + h, x0:x0 + w] = render.random_colour(rng, (0.05, 0.9), (0.0, 0.5))
    return bg


def render_sign_views(rng, min_words, max_words, max_chars, with_masks=False):
    """One FSNS-like sample -> :class:`chainer_see.data.sample.Sample`."""
    k = rng.randint(min_words, max_words)
    for _ in range(100):
        words = street_name(rng, k)
        if rng.random() < 0.15:
            words = [w.upper() for w in words]
        if max(len(w) for w in words) <= max_chars:
            break
    sign, word_boxes, word_masks, min_share = render_sign(rng, words, with_masks)
    order = reading_order(word_boxes)
    words = [words[j] for j in order]
    word_boxes = word_boxes[order]
    if with_masks:
        word_masks = [word_masks[j] for j in order]
    sw, sh = sign.size
    corners = numpy.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], numpy.float64)
    image = numpy.empty((VIEW, VIEWS * VIEW, 3), numpy.uint8)
    boxes = numpy.zeros((len(words), VIEWS, 4), numpy.float32)
    masks = [numpy.zeros((VIEW, VIEWS * VIEW), numpy.float32) for _ in words] \
        if with_masks else None
    for v in range(VIEWS):
        quad = view_quad(rng, sw, sh, min_share)
        to_view = homography(corners, quad)
        to_sign = numpy.linalg.inv(to_view)
        coeffs = tuple((to_sign / to_sign[2, 2]).ravel()[:8])
        # PIL samples at pixel centres (x + 0.5); the homography is in edge coordinates.
        warped = sign.transform((VIEW, VIEW), Image.PERSPECTIVE, coeffs, Image.BILINEAR)
        bg = _view_background(rng)
        alpha = numpy.asarray(warped.getchannel('A'), numpy.float32) * (1.0 / 255.0)
        rgb = numpy.asarray(warped.convert('RGB'), numpy.float32)
        bg *= (1.0 - alpha)[:, :, None]
        bg += rgb * alpha[:, :, None]
        light = render.gradient(rng, VIEW, VIEW, 0.7) * rng.uniform(0.6, 1.2)
        bg *= light
        bg += numpy.asarray([rng.uniform(-20, 20) for _ in range(3)], numpy.float32)
        image[:, v * VIEW:(v + 1) * VIEW] = render.finish(rng, bg, blur_max=1.0, noise_max=8.0)
        for n, b in enumerate(word_boxes):
            pts = numpy.array([[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]])
            p = _project(to_view, pts)
            x0, y0 = numpy.clip(p.min(axis=0), 0, VIEW)
            x1, y1 = numpy.clip(p.max(axis=0), 0, VIEW)
            # edge coordinates -> pixel-centre convention
            boxes[n, v] = (x0 - 0.5 + v * VIEW, y0 - 0.5, x1 - 0.5 + v * VIEW, y1 - 0.5)
            if with_masks:
                m = word_masks[n].transform((VIEW, VIEW), Image.PERSPECTIVE, coeffs,
                                            Image.BILINEAR)
                masks[n][:, v * VIEW:(v + 1) * VIEW] = numpy.asarray(m, numpy.float32) / 255.0
    return Sample(image, words, boxes.reshape(-1, 4), masks)
