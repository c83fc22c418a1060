"""``export.py MODEL OUT.onnx``: a SEE model file as ONNX, checked in onnxruntime.

The export is run in onnxruntime on random images and compared with the Chainer model
before anything is written; the file is written only when they agree
(``chainer_see.export.TOLERANCE``), atomically.  Exit status: 0 written; 2 bad input
(no such model, an output that cannot be written, onnx missing); 1 the export does
not match the Chainer model (a bug: please report it with the model's config).
"""
import argparse
import os
import sys

from chainer_see.data.errors import EXIT_BAD_INPUT, DataError, error_line

EXIT_MISMATCH = 1


def build_parser():
    from chainer_see import zoo
    p = argparse.ArgumentParser(
        prog='export.py',
        description='Write a SEE model file as ONNX (opset 17; input "image" (B, 3, H, W) '
                    'float32 RGB in [0, 1]; outputs "logits" (B, N, T, K), "boxes" '
                    '(B, N*V, 4), "grids"), with its char map and image size in the '
                    "file's metadata. The export is compared with the Chainer model in "
                    'onnxruntime before it is written. Needs pip install -e .[export].',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('model', help='model file (.npz) written by train.py, the name of a zoo '
                                 'model (models/NAME.npz: %s), or a published-layout weight '
                                 'file (then also pass --preset)'
                                 % (', '.join(zoo.names()) or 'none yet'))
    p.add_argument('out', metavar='OUT.onnx', help='the ONNX file to write (replaced '
                                                   'atomically; its folder is created)')
    p.add_argument('--preset', default=None, choices=('svhn', 'svhn-grid', 'fsns'),
                   help='model preset of a weight file without a stored configuration')
    p.add_argument('--crops', action='store_true',
                   help='also output "crops" (B, N*V, 3, Ho, Wo), the sampled regions')
    p.add_argument('--no-verify', action='store_true',
                   help='write without comparing with the Chainer model in onnxruntime')
    p.add_argument('--verify-images', type=int, default=2, metavar='B',
                   help='random images of the comparison')
    return p


def _check_out(path):
    """One line when ``path`` cannot be the output file (before any work)."""
    if os.path.isdir(path):
        raise ValueError('%s: is a folder; give the file to write, e.g. %s'
                         % (path, os.path.join(path, 'model.onnx')))
    folder = os.path.dirname(os.path.abspath(path))
    parent = folder
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ValueError('%s: cannot be written (%s is a file, not a folder)' % (path, parent))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError('%s: cannot be written (no write permission in %s)' % (path, parent))


def _describe(config, outputs):
    N, V, T, K = config.num_regions, config.views, config.num_chars, config.num_classes
    (H, W), (Ho, Wo) = config.image_size, config.crop_size
    shapes = {'logits': (N, T, K), 'boxes': (N * V, 4), 'grids': (N * V, 2, Ho, Wo),
              'crops': (N * V, 3, Ho, Wo)}
    outs = ', '.join('%s (B, %s)' % (o, ', '.join(map(str, shapes[o]))) for o in outputs)
    return 'input image (B, 3, %d, %d); outputs %s' % (H, W, outs)


def main(argv=None, stdout=None):
    """``export.py``; returns the exit status (see the module docstring)."""
    args = build_parser().parse_args(argv)
    out = stdout or sys.stdout
    from chainer_see import export
    from chainer_see.evaluation import inference
    outputs = export.DEFAULT_OUTPUTS + (('crops',) if args.crops else ())
    try:
        export.require('onnx')
        if not args.no_verify:
            export.require('onnxruntime')
        _check_out(args.out)
        path = inference.model_path(args.model)
        model, _, metadata, _ = inference.open_model(path, args.preset, -1)
        proto = export.build_onnx(model, outputs, metadata)
    except (ImportError, DataError, ValueError, FileNotFoundError) as e:
        sys.stderr.write(error_line(e) + '\n')
        return EXIT_BAD_INPUT
    check = ''
    if not args.no_verify:
        diff = export.verify(model, proto.SerializeToString(),
                             batch_size=max(1, args.verify_images))
        worst = max(diff.values())
        if not worst <= export.TOLERANCE:
            sys.stderr.write('error: onnxruntime differs from the Chainer model by %s '
                             '(logits %.3g, boxes %.3g; tolerance %g): nothing written\n'
                             % (worst, diff['logits'], diff['boxes'], export.TOLERANCE))
            return EXIT_MISMATCH
        check = ('; onnxruntime = Chainer to %.1e (logits), %.1e (boxes) on %d random images'
                 % (diff['logits'], diff['boxes'], max(1, args.verify_images)))
    try:
        data = proto.SerializeToString()
        from chainer_see.atomic import atomic_file
        with atomic_file(args.out) as f:
            f.write(data)
    except OSError as e:
        sys.stderr.write(error_line(e) + '\n')
        return EXIT_BAD_INPUT
    out.write('wrote %s (%.1f MB, opset %d): %s%s\n' % (
        args.out, len(data) / 1e6, export.OPSET, _describe(model.config, outputs), check))
    return 0
