"""``Sample``: one rendered synthetic sample, shared by ``synthetic`` and ``fsns_like``."""
import collections

Sample = collections.namedtuple('Sample', ['image', 'words', 'boxes', 'masks'])
Sample.__doc__ = """One rendered sample at native size: ``image`` uint8 (H, W, 3),
``words`` list of str in reading order, ``boxes`` float32 (n_words * views, 4) true
boxes (region-major for several views), ``masks`` per-word float32 (H, W) ink masks
(only when asked for, else ``None``)."""
