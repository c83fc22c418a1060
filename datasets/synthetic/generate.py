#!/usr/bin/env python
"""Write a synthetic dataset to disk: PNG images, ground truth in the published SEE
format, and the true box of every word (for measuring localization; never used
in training).  The same seed gives the same bytes.

    python datasets/synthetic/generate.py --kind svhn-crops --count 1000 --seed 1 --out data/crops

Kinds: svhn-crops (64x64, one house number of 1-5 digits, Table 1 crop protocol),
svhn-grid (200x200, four numbers in a 2x2 grid), svhn-random (200x200, 1-4 numbers
at random places, Fig. 5), fsns-like (600x150, four views of a street-name sign of
1-4 French words).

Output: OUT/images/NNNNNN.png, OUT/gt.tsv (gt.txt with --format readable),
OUT/gt.boxes.json, OUT/dataset.json.  Training generates the same data on the fly
with chainer_see.data.SyntheticDataset.
"""
import argparse
import os
import sys

_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
if os.path.isfile(os.path.join(_ROOT, 'chainer_see', '__init__.py')):
    sys.path.insert(0, _ROOT)

from chainer_see.data import synthetic  # noqa: E402
from chainer_see.data.output import add_output_options, run_script  # noqa: E402


def _size(text):
    try:
        h, w = (int(v) for v in text.lower().split('x'))
        if h < 1 or w < 1:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError('expected HxW, e.g. 64x64 or 150x600, got %r' % text)
    return h, w


def build_parser():
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0].replace('\n', ' '),
        epilog='\n\n'.join(__doc__.split('\n\n')[2:]),
        formatter_class=type('F', (argparse.ArgumentDefaultsHelpFormatter,
                                   argparse.RawDescriptionHelpFormatter), {}))
    p.add_argument('--kind', required=True, choices=synthetic.KINDS, help='what to generate')
    p.add_argument('--count', type=int, required=True, help='number of images')
    p.add_argument('--seed', type=int, default=0,
                   help='seed; image i depends only on (kind, seed, i) and the options')
    p.add_argument('--out', required=True,
                   help='output folder (must not exist or be empty; written atomically)')
    p.add_argument('--size', type=_size, default=None,
                   help='resize images (and boxes) to HxW; default the native size '
                        '(64x64, 200x200, 128x128 or 150x600)')
    p.add_argument('--min-digits', type=int, default=1, help='fewest digits of a house number')
    p.add_argument('--max-digits', type=int, default=5,
                   help='most digits of a house number; also T (chars per word) when > 5')
    p.add_argument('--min-numbers', type=int, default=None,
                   help='svhn-random: fewest house numbers per image; grid kinds: fewest '
                        'filled cells (default: svhn-random 1, grids 4)')
    p.add_argument('--max-numbers', type=int, default=None,
                   help='svhn-random: most house numbers per image (<= 4); grid kinds: most '
                        'filled cells; N (word slots) (default: 4)')
    p.add_argument('--min-words', type=int, default=1, help='fsns-like: fewest words per sign')
    p.add_argument('--max-words', type=int, default=4,
                   help='fsns-like: most words per sign; N (word slots)')
    add_output_options(p)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error('--count must be at least 1')
    options = dict(min_digits=args.min_digits, max_digits=args.max_digits,
                   min_numbers=args.min_numbers, max_numbers=args.max_numbers,
                   min_words=args.min_words, max_words=args.max_words)
    try:
        ds = synthetic.SyntheticDataset(args.kind, args.count, seed=args.seed,
                                        image_size=args.size, **options)
    except ValueError as e:
        parser.error(str(e))
    synthetic.write_dataset(ds, args.out, gt_format=args.format, overwrite=args.overwrite,
                            show_progress=False if args.no_progress else None, options=options)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main))
