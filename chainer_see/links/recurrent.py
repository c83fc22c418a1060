"""Running an ``L.LSTM`` for several steps on inputs, with its weights but without its state."""
import chainer.functions as F

from chainer_see.links import ops


def lstm_steps(lstm, xs=None, x=None, steps=None):
    """Run ``lstm`` (an ``L.LSTM``) from a zero state.

    Either on a list of inputs ``xs`` (one per step), or ``steps`` times on the same
    input ``x`` (SEE's localization and recognition LSTMs read one feature every step).
    The input projections ``lstm.upward`` are computed in one matrix product (once for a
    repeated input); same result as calling the link step by step, which is what
    ``reference_ops()`` does.

    The link's own state is left untouched (``reset_state()`` is called before and after
    in the reference path).

    Returns:
        list of ``(B, units)`` Variables, the hidden output of each step.
    """
    if xs is None and (x is None or steps is None):
        raise ValueError('lstm_steps needs xs, or x and steps')
    n = steps if xs is None else len(xs)
    if ops.using_reference_ops('lstm'):
        lstm.reset_state()
        hs = [lstm(x if xs is None else xs[t]) for t in range(n)]
        lstm.reset_state()
        return hs
    if xs is None:
        ins = [lstm.upward(x)] * n
    else:   # one matrix product for all steps
        ins = F.split_axis(lstm.upward(F.concat(xs, axis=0)), n, axis=0) if n > 1 \
            else [lstm.upward(xs[0])]
    hs = []
    c = h = None
    for a in ins:
        if h is not None:
            a = a + lstm.lateral(h)
        if c is None:
            c = lstm.xp.zeros((a.shape[0], lstm.state_size), dtype=a.dtype)
        c, h = F.lstm(c, a)
        hs.append(h)
    return hs
