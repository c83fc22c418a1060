"""benchmarks/bench_synthetic.py: its plain baseline renders the same numbers, words and
boxes as the project's generator, only without the caches, and the table prints plain
/ ours (no timing asserted)."""
import io

import numpy
import pytest

from benchmarks import bench_synthetic as bench
from chainer_see.data import render
from chainer_see.data.synthetic import KINDS, SyntheticDataset


def test_plain_glyphs_are_the_pre_rendered_ones_drawn_anew():
    for font_index, bold in ((0, 0), (len(render.font_paths()) - 1, 1)):
        ours, plain = render.GlyphSet(font_index, bold), bench.PlainGlyphs(font_index, bold)
        for c in '0123456789':
            numpy.testing.assert_array_equal(plain.masks[c], ours.masks[c])
        numpy.testing.assert_array_equal(plain.number('4071', 0.1), ours.number('4071', 0.1))
        assert plain.height == ours.height


@pytest.mark.parametrize('kind', KINDS)
def test_plain_rendering_shows_the_same_content_by_other_means(kind):
    n = 2 if kind == 'fsns-like' else 4
    ours = [SyntheticDataset(kind, n, seed=5).render(i) for i in range(n)]
    with bench.plain_rendering():
        assert isinstance(render.glyph_sets()[0], bench.PlainGlyphs)
        plain = [SyntheticDataset(kind, n, seed=5).render(i) for i in range(n)]
    assert render.glyph_sets.__name__ == 'glyph_sets' and render.noise is not bench.plain_noise
    differs = False
    for a, b in zip(ours, plain):
        assert a.words == b.words
        numpy.testing.assert_allclose(a.boxes, b.boxes, atol=1e-4)
        assert a.image.shape == b.image.shape
        differs |= not numpy.array_equal(a.image, b.image)    # the noise is drawn anew
    assert differs


def test_table_prints_plain_ours_and_their_ratio():
    out = io.StringIO()
    assert bench.main(['--count', '2', '--repeat', '1', '--kinds', 'svhn-crops,svhn-grid'],
                      out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ['kind', 'plain', 'ms/img', 'ours', 'ms/img', 'ratio']
    assert [l.split()[0] for l in lines[1:]] == ['svhn-crops', 'svhn-grid']
    for line in lines[1:]:
        _, plain, ours, ratio = line.split()
        assert float(plain) > 0 and float(ours) > 0
        assert float(ratio[:-1]) == pytest.approx(float(plain) / float(ours), rel=0.02, abs=0.01)
