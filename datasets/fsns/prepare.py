#!/usr/bin/env python
"""Convert FSNS TFRecord shards (no TensorFlow needed) into PNG files, word-level
ground truth in the published SEE format, one file per curriculum level, and the
curriculum JSON.

    python datasets/fsns/prepare.py FSNS_ROOT OUT [--min-words 1] [--max-words 4]

FSNS_ROOT holds train/, validation/ and test/ folders of shards as downloaded.
Output layout and rules: see chainer_see/data/fsns.py.  Exit status 2 on bad input
(message names the shard and record); nothing is left in OUT after a failure.

Curriculum level k holds the images with exactly k words and needs both train and
validation images of that count; a level left out is said in one line on stderr
("curriculum level k (exactly k words) dropped: <why>") and recorded with its reason in
OUT/conversion.json under "curriculum".
"""
import argparse
import os
import sys

_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
if os.path.isfile(os.path.join(_ROOT, 'chainer_see', '__init__.py')):
    sys.path.insert(0, _ROOT)

from chainer_see.data import fsns  # noqa: E402
from chainer_see.data.output import add_output_options, run_script  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0].replace('\n', ' '),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('src', help='FSNS root folder with train/, validation/, test/ shard folders')
    p.add_argument('out', help='output folder (must not exist or be empty; written atomically)')
    p.add_argument('--splits', default=','.join(fsns.SPLITS),
                   help='comma-separated split folders to convert (those missing are ignored)')
    p.add_argument('--min-words', type=int, default=1,
                   help='drop images with fewer words; also the first curriculum level')
    p.add_argument('--max-words', type=int, default=4,
                   help='drop images with more words; N (word slots) of the full ground truth; '
                        'also the last curriculum level')
    p.add_argument('--max-chars', type=int, default=21,
                   help='drop images with a longer word; T (characters per word slot)')
    p.add_argument('--skip-bad', action='store_true',
                   help='report and skip bad records (and the rest of a shard whose framing '
                        'is broken) instead of stopping with an error')
    add_output_options(p, gt_files=('.tsv', '.txt'))
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    fsns.convert_fsns(args.src, args.out, min_words=args.min_words, max_words=args.max_words,
                      max_chars=args.max_chars,
                      splits=[s for s in args.splits.split(',') if s],
                      skip_bad=args.skip_bad, overwrite=args.overwrite, gt_format=args.format,
                      show_progress=False if args.no_progress else None)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main))
