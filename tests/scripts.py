"""Import the scripts of experiments/ (not a package) as modules, for their tests."""
import importlib.util
import os
import sys

EXPERIMENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'experiments')


def load_experiment(name):
    """``experiments/NAME.py`` as a module; its folder is on ``sys.path`` while it loads
    (the scripts import ``small_scale`` beside them)."""
    sys.path.insert(0, EXPERIMENTS)
    try:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(EXPERIMENTS, name + '.py'))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(EXPERIMENTS)
    return mod
