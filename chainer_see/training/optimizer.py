"""The optimizer of the published code, and per-part resets of its state.

Adam, weight decay 5e-4 and gradient clipping at global norm 2 (``WeightDecay`` and
``GradientClipping`` hooks; both act on every parameter).  One optimizer serves the
whole model; each parameter carries its own update rule and Adam state (``m``, ``v``
and its own step count ``t`` for the bias correction), so a localization-only restart
re-creates the update rules of the recognition parameters (``reset_update_rules``)
and leaves those of the localization network untouched.
"""
import chainer


def make_optimizer(target, lr=1e-3, weight_decay=5e-4, clip=2.0):
    """Adam(``alpha=lr``) set up on ``target`` with the weight-decay and clipping hooks.

    ``weight_decay`` / ``clip`` of 0 (or ``None``) leave the hook out.
    """
    opt = chainer.optimizers.Adam(alpha=lr)
    opt.setup(target)
    if weight_decay:
        opt.add_hook(chainer.optimizer_hooks.WeightDecay(weight_decay))
    if clip:
        opt.add_hook(chainer.optimizer_hooks.GradientClipping(clip))
    return opt


def actual_optimizer(optimizer):
    """The Chainer optimizer inside a ChainerMN multi-node optimizer (or itself)."""
    return getattr(optimizer, 'actual_optimizer', optimizer)


def reset_update_rules(optimizer, link):
    """Give every parameter of ``link`` a fresh update rule (state empty, ``t = 0``).

    Hyperparameters are the optimizer's (shared), so ``--lr`` changes stay in effect.
    Returns the number of parameters reset.
    """
    opt = actual_optimizer(optimizer)
    n = 0
    for param in link.params():
        rule = opt.create_update_rule()
        if getattr(opt, '_use_fp32_update', False):
            rule.use_fp32_update()
        param.update_rule = rule
        n += 1
    return n


def ensure_update_rules(optimizer, link):
    """Create update rules for the parameters of ``link`` that have none (parameters
    added after ``setup``, e.g. by ``set_num_chars`` with the independent head).
    Returns how many were created."""
    opt = actual_optimizer(optimizer)
    n = 0
    for param in link.params():
        if param.update_rule is None:
            param.update_rule = opt.create_update_rule()
            n += 1
    return n
