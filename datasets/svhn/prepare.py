#!/usr/bin/env python
"""Convert SVHN "format 1" (N.png + digitStruct.mat) into 64x64 house-number crops
with ground truth (Table 1 protocol), and compose grid / random 200x200 datasets
from those crops.

    python datasets/svhn/prepare.py crops SVHN/train data/svhn/train
    python datasets/svhn/prepare.py grid data/svhn/train/gt.tsv data/svhn/grid --count 10000
    python datasets/svhn/prepare.py random data/svhn/train/gt.tsv data/svhn/random --count 10000

The crops' gt.boxes.json holds each number's word box: the union of its digitStruct
digit boxes, in pixel-centre coordinates of the crop (the grid and random composites
carry these boxes along), which train.py --box-fraction reads as box labels.

Exit status 2 on bad input (the message names the file and the image or line);
nothing is left in OUT after a failure.

Digit boxes outside their photo (crops): a box partly outside is clipped to the photo
(and counted as "clipped digit boxes"); a box entirely outside means the digitStruct.mat
entry does not describe that photo: an error naming digitStruct.mat, the image number
and file, or with --skip-bad a skipped image, counted in the summary line and in
conversion.json.
"""
import argparse
import os
import sys

_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
if os.path.isfile(os.path.join(_ROOT, 'chainer_see', '__init__.py')):
    sys.path.insert(0, _ROOT)

from chainer_see.data import svhn  # noqa: E402
from chainer_see.data.output import add_output_options, run_script  # noqa: E402


def build_parser():
    fmt = argparse.ArgumentDefaultsHelpFormatter
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].replace('\n', ' '),
                                formatter_class=fmt)
    sub = p.add_subparsers(dest='command', required=True, metavar='{crops,grid,random}')

    c = sub.add_parser('crops', formatter_class=fmt,
                       help='SVHN folder -> 64x64 crops + gt.tsv + gt.boxes.json',
                       description='Crop every house number: union box of its digits '
                                   'enlarged by --enlarge on every side, resized to --size. '
                                   'A digit box partly outside its photo is clipped to the '
                                   'photo (counted); one entirely outside it is an error '
                                   'naming the digitStruct.mat entry (image number and '
                                   'file), or with --skip-bad a skipped, counted image.')
    c.add_argument('src', help='SVHN folder with N.png files and digitStruct.mat')
    c.add_argument('out', help='output folder (must not exist or be empty; written atomically)')
    c.add_argument('--digit-struct', default=None,
                   help='digitStruct.mat to read (default: SRC/digitStruct.mat)')
    c.add_argument('--size', type=int, default=64, help='side of the square crops in pixels')
    c.add_argument('--enlarge', type=float, default=0.3,
                   help='share of the union box width/height added on every side')
    c.add_argument('--max-digits', type=int, default=5,
                   help='numbers with more digits are dropped (and counted); also T of the gt')
    c.add_argument('--skip-bad', action='store_true',
                   help='report and skip bad images (bad labels, boxes entirely outside '
                        'their photo, missing or unreadable files) instead of stopping with '
                        'an error; the summary line counts them')
    add_output_options(c)

    for kind, text in (('grid', 'four crops in a regular 2x2 grid'),
                       ('random', '--min-numbers..--max-numbers crops at random '
                                  'non-overlapping places')):
        g = sub.add_parser(kind, formatter_class=fmt,
                           help='crops -> 200x200 images of %s' % text,
                           description='Compose 200x200 images of %s (crops drawn at random '
                                       'with replacement; labels and boxes in reading order).'
                                       % text)
        g.add_argument('crops_gt', help='gt.tsv of crops written by the crops command '
                                        '(its gt.boxes.json is needed too)')
        g.add_argument('out', help='output folder (must not exist or be empty)')
        g.add_argument('--count', type=int, default=1000, help='number of images to make')
        g.add_argument('--seed', type=int, default=0, help='same seed, same images')
        g.add_argument('--canvas', type=int, default=200, help='side of the square images')
        g.add_argument('--min-size', type=int, default=None,
                       help='smallest side of a pasted crop (default 56 grid, 48 random)')
        g.add_argument('--max-size', type=int, default=None,
                       help='largest side of a pasted crop (default 96)')
        g.add_argument('--background', type=int, default=0,
                       help='grey level 0..255 of the canvas (the paper used black)')
        if kind == 'random':
            g.add_argument('--min-numbers', type=int, default=1, help='fewest numbers per image')
            g.add_argument('--max-numbers', type=int, default=4,
                           help='most numbers per image; N (word slots) of the ground truth')
        add_output_options(g)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    show = False if args.no_progress else None
    if args.command == 'crops':
        svhn.convert_svhn(args.src, args.out, digit_struct=args.digit_struct,
                          size=(args.size, args.size), enlarge=args.enlarge,
                          max_digits=args.max_digits, skip_bad=args.skip_bad,
                          overwrite=args.overwrite, gt_format=args.format, show_progress=show)
    else:
        svhn.build_composites(args.crops_gt, args.out, kind=args.command, count=args.count,
                              seed=args.seed,
                              min_numbers=getattr(args, 'min_numbers', 4),
                              max_numbers=getattr(args, 'max_numbers', 4),
                              canvas=(args.canvas, args.canvas), min_size=args.min_size,
                              max_size=args.max_size, background=args.background,
                              overwrite=args.overwrite, gt_format=args.format,
                              show_progress=show)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main))
