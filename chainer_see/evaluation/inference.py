"""Running a SEE model for evaluation and prediction: device choice, the deterministic
forward pass, and the reading of its output (words, boxes, confidences).

Confidence: the probability the model gives to its own reading.  For a word slot it is
the product over its T character steps of the largest softmax probability of the step,
*blank steps included* (predicting "no character here" is a decision too: a step that
hesitates between a blank and a digit makes the reading uncertain).  For an image it is
the product over all its word slots, empty slots included.  Both are in ``(0, 1]``.
"""
import chainer
from chainer import backend

from chainer_see.evaluation import metrics


def get_device(gpu):
    """``--gpu`` value -> Chainer device: ``gpu < 0`` is the CPU, else CuPy device ``gpu``.

    Raises ``ValueError`` with a message naming ``--gpu`` when no usable GPU is there.
    """
    gpu = int(gpu)
    if gpu < 0:
        return backend.CpuDevice()
    from chainer.backends import cuda
    if not cuda.available:
        raise ValueError('--gpu %d: CuPy cannot use a GPU here (CuPy missing or no CUDA '
                         'driver/device); run on the CPU with --gpu -1' % gpu)
    try:
        count = cuda.cupy.cuda.runtime.getDeviceCount()
    except Exception as e:   # noqa: BLE001  (CUDA runtime errors have several types)
        raise ValueError('--gpu %d: cannot query the GPUs (%s)' % (gpu, e))
    if gpu >= count:
        raise ValueError('--gpu %d: this machine has %d GPU(s), numbered 0..%d'
                         % (gpu, count, count - 1))
    return chainer.get_device('@cupy:%d' % gpu)


def model_path(name):
    """The file of ``evaluate.py`` / ``predict.py``'s MODEL argument: a path, or the name
    of a zoo model (``models/NAME.npz``, see ``chainer_see.zoo``).  A plain name that is
    neither raises ``ModelFileError`` listing the zoo's names."""
    import os
    from chainer_see import zoo
    from chainer_see.model_io import ModelFileError
    path = zoo.resolve(name)
    plain = os.sep not in name and not name.endswith('.npz')
    if plain and not os.path.exists(path):
        raise ModelFileError(name, zoo.missing_hint())
    return path


def open_model(path, preset=None, gpu=-1):
    """Load the model of ``evaluate.py`` / ``predict.py`` onto the device of ``--gpu``.

    Args:
        path (str): model file; one without a stored configuration (the published
            layout) needs ``preset``.
        preset (str or None): model preset of such a file; ignored for files that carry
            their configuration.
        gpu (int): ``--gpu`` (< 0: CPU, where ``runtime.tune_malloc`` is applied).

    Returns:
        ``(model, device, metadata, format)`` (metadata and format of
        ``chainer_see.read_model_info``).  Raises ``ValueError`` or
        ``FileNotFoundError`` with a message for the user.
    """
    import chainer_see
    from chainer_see.runtime import tune_malloc
    device = get_device(gpu)
    config, metadata, fmt = chainer_see.read_model_info(path)
    if config is None and preset is None:
        raise ValueError('%s holds weights but no configuration (the published layout?): pass '
                         '--preset svhn (or the model preset it was trained with)' % path)
    model = chainer_see.load_model(path, preset=preset if config is None else None)
    if gpu >= 0:
        model.to_device(device)
    else:
        tune_malloc()
    return model, device, metadata, fmt


def forward(model, x, device=None):
    """Run ``model`` on the batch ``x`` (float32 ``(B, 3, H, W)`` NumPy) in test mode
    (``SEE.infer``).  ``device``: where to send ``x`` (default: the model's device).

    Deterministic: ``train=False`` (rotation dropout at its test-time value, batch
    normalization with the stored statistics), no graph kept.  Returns ``(logits
    float32 (B, N, T, K), boxes float32 (B, N*V, 4))`` as NumPy arrays.
    """
    if device is not None:
        x = device.send(x)
    out = model.infer(x)
    return metrics.to_numpy(out.logits), metrics.to_numpy(out.boxes)


def read(model, x, char_map, device=None):
    """Forward ``x`` in test mode and decode with ``char_map``: a ``Reading``
    (``SEE.predict``, ``chainer_see.links.see.Reading``)."""
    if device is not None:
        x = device.send(x)
    return model.predict(x, char_map=char_map)
