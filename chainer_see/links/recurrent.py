"""Running an ``L.LSTM`` for several steps on inputs, with its weights but without its state."""


def lstm_steps(lstm, xs=None, x=None, steps=None):
    """Run ``lstm`` (an ``L.LSTM``) from a zero state.

    Either on a list of inputs ``xs`` (one per step), or ``steps`` times on the same
    input ``x`` (SEE's localization and recognition LSTMs read one feature every step).
    The link is called step by step, as the published code does (computing the input
    projection once for all steps did not pay for itself: the README's ablation table).

    The link's state is reset before and after, so no state leaks between calls.

    Returns:
        list of ``(B, units)`` Variables, the hidden output of each step.
    """
    if xs is None and (x is None or steps is None):
        raise ValueError('lstm_steps needs xs, or x and steps')
    n = steps if xs is None else len(xs)
    lstm.reset_state()
    hs = [lstm(x if xs is None else xs[t]) for t in range(n)]
    lstm.reset_state()
    return hs
