"""Command-line helpers of ``evaluate.py`` and ``predict.py``: the check of an output
folder before any work, and the help formatter that shows every default once.
"""
import argparse
import os


def check_output_folder(path, option='--out', files=(), folders=()):
    """Refuse an output folder that cannot hold the outputs, before any work is done.

    ``path`` must be a folder or not exist yet (then its nearest existing parent must be
    a writable folder); inside an existing one, ``files`` must not be folders and
    ``folders`` must not be files.  Raises ``ValueError`` (``OPTION PATH: reason``, one
    line); creates nothing.
    """
    def refuse(reason):
        raise ValueError('%s %s: %s' % (option, path, reason))

    if os.path.isdir(path):
        for name in files:
            if os.path.isdir(os.path.join(path, name)):
                refuse('%s in it is a folder; it cannot be replaced by the %s file'
                       % (name, name))
        for name in folders:
            target = os.path.join(path, name)
            if os.path.exists(target) and not os.path.isdir(target):
                refuse('%s in it is a file, not a folder' % name)
        if not os.access(path, os.W_OK | os.X_OK):
            refuse('the folder is not writable')
        return
    if os.path.exists(path) or os.path.islink(path):
        refuse('exists and is not a folder (pass a folder, or a path that does not exist yet)')
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        refuse('%s is a file, not a folder' % parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        refuse('cannot create it: %s is not writable' % parent)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds ``(default: X)`` to an option's help unless the help already says its default
    or there is none to say (``None``, flags)."""

    def _get_help_string(self, action):
        text = action.help or ''
        if '(default' in text or action.default is None or action.default is False \
                or action.default == argparse.SUPPRESS:
            return text
        return super(HelpFormatter, self)._get_help_string(action)
