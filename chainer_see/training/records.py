"""What a training run writes and where: the claim on ``--out`` (every rank learns the
writer's verdict), ``model.npz`` and its metadata, ``config.json``, and the supervision
record that a chain of runs carries along.
"""
import json
import os
import sys

import numpy

import chainer

from chainer_see.atomic import atomic_file
from chainer_see.data import presets
from chainer_see.model_io import read_model_info
from chainer_see.model_io import save_model
from chainer_see.training import run_folder


def claim_folder(out, options, writer, comm):
    """Lock ``out`` and check it under the rules of ``run_folder`` (the writer only;
    under MPI every rank learns the writer's verdict and the snapshot to resume).
    Returns ``(claim, resume_from)``: the ``run_folder.Claim`` (``None`` on other ranks)
    and the snapshot ``--resume`` goes on from (or ``None``); ``RunFolderError``."""
    claim = problem = None
    if writer:
        try:
            claim = run_folder.claim(out, resume=options.resume,
                                     overwrite=getattr(options, 'overwrite', False))
        except run_folder.RunFolderError as e:
            problem = str(e)
    resume_from = claim.resume_from if claim is not None else None
    if comm is not None and comm.size > 1:
        problem, resume_from = comm.bcast_obj(       # the root sends, others get
            (problem, resume_from) if writer else None)
    if problem:
        if claim is not None:
            claim.release()
        raise run_folder.RunFolderError(problem)
    return claim, resume_from


def resume_mismatch(path, error, out):
    """The ``RunFolderError`` of a snapshot ``path`` that does not load into the run of
    ``out`` (``error``: the ``KeyError`` / ``ValueError`` of the load)."""
    return run_folder.RunFolderError(
        '--resume: %s does not fit the run these options build (%s); resume with '
        'the options of %s, or start a new run with another --out or --overwrite'
        % (path, str(error).splitlines()[0][:160] if str(error) else type(error).__name__,
           os.path.join(out, 'config.json')))


def supervision(options, config):
    """What the model learned from, beyond the text labels: ``box_labels`` (``True``
    when ``--box-fraction`` > 0: the box term read the true boxes of that fraction of
    the training images), ``box_fraction`` (F), ``layout_prior`` (``--slot-layout
    grid``), and ``started_from``: per network loaded with ``--load-*``, that file and
    its own ``supervision``, so a chain of runs keeps its whole history."""
    started = {}
    for part in ('localization', 'recognition'):
        path = getattr(options, 'load_' + part)
        if path:
            meta = read_model_info(path).metadata or {}
            started[part] = {'path': os.path.abspath(path),
                             'dataset': meta.get('dataset'),
                             'supervision': meta.get('supervision')}
    fraction = float(getattr(options, 'box_fraction', 0.0) or 0.0)
    return {'box_labels': fraction > 0, 'box_fraction': fraction,
            'layout_prior': config.slot_layout != 'none',
            'started_from': started}


def metadata(options, data, level, iteration, restarts, model_preset, finished,
             supervised):
    """The metadata ``model.npz`` carries (``evaluate.py`` reads the dataset from it);
    ``finished``: the run ended as planned, ``supervised``: :func:`supervision`."""
    o = options
    return {
        'dataset': os.path.abspath(o.dataset) if presets.is_path(o.dataset) else o.dataset,
        'data_dir': os.path.abspath(o.data_dir),
        'iteration': int(iteration),
        'level': int(level),
        'level_name': data.name(level),
        'num_levels': int(data.num_levels),
        'curriculum': not o.no_curriculum,
        'curriculum_mix': o.curriculum_mix,
        'restarts': int(restarts),
        'seed': int(o.seed),
        'model_preset': model_preset,
        'finished': finished,
        'options': json.loads(json.dumps(vars(o), default=str)),
        'supervision': supervised,
    }


def loss_record(loss, loss_preset, box_fraction):
    """``config.json``'s ``loss`` entry: the preset and every weight in use."""
    return {'preset': loss_preset, 'mode': loss.mode,
            'area_weight': loss.area_weight,
            'area_accuracy_scale': loss.area_accuracy_scale,
            'aspect_weight': loss.aspect_weight,
            'direction_weight': loss.direction_weight,
            'height_hinge': loss.height_hinge, 'height_weight': loss.height_weight,
            'outside_weight': loss.outside_weight,
            'width_weight': loss.width_weight,
            'word_weights': loss.word_weights,
            'box_weight': loss.box_weight,
            'box_fraction': box_fraction}


def configuration(options, config, model_preset, loss, loss_preset, data, plan):
    """The content of ``config.json``: command, options, model, loss, optimizer,
    levels, devices and versions."""
    o = options
    return {
        'command': sys.argv,
        'options': vars(o),
        'model': config.to_dict(),
        'model_preset': model_preset,
        'loss': loss_record(loss, loss_preset, data.box_fraction),
        'optimizer': {'name': 'Adam', 'alpha': o.lr, 'alpha_final': o.lr_final,
                      'alpha_decay_start': o.lr_decay_start,
                      'weight_decay': o.weight_decay, 'gradient_clipping': o.clip},
        'levels': data.describe(),
        'devices': dict(plan._asdict()),
        'versions': {'chainer': chainer.__version__, 'numpy': numpy.__version__,
                     'python': sys.version.split()[0]},
    }


def write_json(path, content):
    """``content`` as indented JSON into ``path`` (atomic)."""
    with atomic_file(path, 'w') as f:
        json.dump(content, f, indent=2, sort_keys=True, default=str)
        f.write('\n')


def save_model_file(model, path, meta):
    """``model`` (a copy on the CPU when it lives on a GPU) into ``path`` with ``meta``."""
    if model.device.xp is not numpy:
        model = model.copy(mode='copy')
        model.to_cpu()
    save_model(model, path, metadata=meta)
    return path
