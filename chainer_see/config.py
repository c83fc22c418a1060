"""One configuration object that fully describes a SEE model.

``SEEConfig`` is a dataclass of plain JSON values: ``to_dict()`` / ``from_dict()`` round
trip through ``json`` and a saved model carries its configuration.  ``SEEConfig.preset(
name, **overrides)`` builds the published configurations:

==============  ===========  =====  ==  ==  ===  ========  ============  =================
preset          image (H,W)  views  N   T   K    crop      backbone      transform head
==============  ===========  =====  ==  ==  ===  ========  ============  =================
``svhn``        64 x 64      1      1   5   11   50 x 50   small-resnet  Linear, zoom init
``svhn-grid``   200 x 200    1      4   5   11   50 x 50   small-resnet  Linear, zoom init
``fsns``        150 x 600    4      4   21  134  75 x 100  resnet152     LSTM(6), default
``fsns-paper``  150 x 600    4      4   21  134  75 x 100  resnet18      LSTM(6), default
==============  ===========  =====  ==  ==  ===  ========  ============  =================

``svhn`` and ``svhn-grid`` have the parameter layout of the published SVHN code (the
64x64 crops and the 200x200 grid of ``train_svhn.py``).  ``fsns`` is the published FSNS
configuration (``train_fsns.py`` at the code's last commit): LSTM transform head with
Chainer's default initialization, Chainer's ResNet-152 as reader (``pool5`` features,
the four views joined by channels), a forward and a backward LSTM over the characters;
published FSNS weights load into it.  ``fsns-paper`` is the same network with the
paper's ResNet-18 reader.  Both FSNS presets have N = 4 word slots: the published FSNS
loss has per-word weights for four slots (1, 1.25, 2, 1.25) and fails beyond four words.

Cost of the ``fsns`` reader: ResNet-152 takes about 11.3 GFLOP (multiply-adds) per
224x224 image, about 1.7 GFLOP per 75x100 crop, so one FSNS image (4 regions x 4 views =
16 crops) costs about 27 GFLOP forward (a few seconds on a CPU core; train it on GPUs).
``fsns-paper`` (ResNet-18) costs about a sixth of that.

Where the paper and the published code differ, the default follows the code and the
paper's variant is an option (each field's comment says which is which).
"""
import dataclasses
import json
import numbers

import numpy

TRANSFORM_HEADS = ('linear', 'lstm')
SHORTCUTS = ('code', 'identity')
POOLINGS = ('code', 'paper')
ROTATION_DROPOUTS = ('code', 'sample', 'none')
BACKBONES = ('small-resnet', 'resnet18', 'resnet152')
HEADS = ('lstm', 'independent', 'ctc')
SLOT_LAYOUTS = ('none', 'grid')
CHAR_MAP_NAMES = ('svhn', 'fsns')


@dataclasses.dataclass
class SEEConfig(object):
    """Everything that decides a SEE model's structure and parameter shapes.

    Attributes:
        image_size: ``(H, W)`` of the whole input image, all views included.
        views: number of views side by side along the width (FSNS: 4).  Each view is
            localized on its own (``W / views`` wide); the views of a word are read
            together.
        num_regions: N, text regions (word slots) predicted per view.
        num_chars: T, characters read per region.
        num_classes: K, classes of the char map (class 0 = blank).
        crop_size: ``(Ho, Wo)`` of every sampled region.
        char_map: ``'svhn'``, ``'fsns'`` (the project's maps) or the list of characters,
            index 0 the blank.  ``save_model`` stores the list, so a model file is
            self-contained.
        loc_units: units of the localization LSTM (paper and code: 256).
        transform_head: ``'linear'`` (SVHN code: Linear(256, 6) with zero weights and
            the "zoom" bias ``(zoom, 0, 0, 0, zoom, 0)``: every region starts as the
            centred crop) or ``'lstm'`` (paper and FSNS code: ``L.LSTM(256, 6)``, its
            state carried over the N steps, its output the matrix, Chainer's default
            initialization).  The zoom initialization is the ``'linear'`` head: the FSNS
            code has it only as disabled lines.  Both heads are the child
            ``transform_2``, the published name.
        zoom: initial scale of the ``'linear'`` head (code: 0.9, a centred crop); with
            ``slot_layout='grid'`` also the scale of the slot anchors.
        loc_input_size: ``None`` (paper and code: the localization network reads each
            view at its own size) or ``(h, w)`` (this project's): it reads the view
            shrunk to that size (a box filter for an integer factor, else bilinear),
            while the reader still samples its crops from the full-size view.  A
            localization trained on ``h x w`` images then fits the larger one whole:
            the 64x64 crops as the first curriculum step of the 128x128 grid.
        slot_layout: where the N regions start.  ``'none'`` (paper and code): all N
            on the same box, the head's output.  ``'grid'`` (this project's): a fixed
            offset per region moves region n, at the head's initial output, onto cell n
            (reading order) of a grid of ``ceil(sqrt N)`` columns, scaled by ``zoom``
            (``localization.slot_anchors``).  A layout prior that breaks the symmetry of
            the N regions; it gives no box of any image.
        shortcut: ``'code'`` (published: only blocks that change the width or stride
            have a (1x1 conv + BN) shortcut; same-width blocks have none; the published
            weights depend on it) or ``'identity'`` (the usual ResNet identity shortcut
            in same-width blocks).  Applies to every residual block of the model.
        pooling: ``'code'`` (max pool 2x2 after the 1st and the 2nd block of the
            localization network) or ``'paper'`` (only after the 2nd block).
        rotation_dropout: ``'code'`` (one Bernoulli draw per region step, shared by the
            batch, as the published code called it once per LSTM step; ``ratio`` =
            chance of keeping the off-diagonal terms, test time scales them by ``ratio``),
            ``'sample'`` (independent per sample and region, ``ratio`` = chance of
            dropping, inverted-dropout scaling, identity at test time) or ``'none'``.
        rotation_dropout_ratio: the ``ratio`` above (code default 0.5).
        backbone: ``'small-resnet'`` (SVHN experiments, code), ``'resnet152'`` (FSNS
            code: Chainer's ``ResNetLayers`` with 152 layers, the child ``resnet``,
            HeNormal initialization, ``pool5`` features; the published FSNS weights need
            it; about 11 GFLOP per 224x224 image) or ``'resnet18'`` (FSNS, paper).
            ``shortcut`` does not apply to ``'resnet152'``: its bottleneck blocks always
            add their input or its projection.
        rec_units: width of the recognition feature (``fc1``) and of its LSTM(s)
            (SVHN 256, FSNS 512).
        head: ``'lstm'`` (code: an LSTM run T steps on the same feature and one shared
            classifier), ``'independent'`` (paper: T independent softmax classifiers)
            or ``'ctc'`` (this project's, issue 20: a CRNN-style column reader trained
            with CTC; its logits have ``2T + 1`` column steps instead of T, see
            ``RecognitionNet``; ``rec_units`` does not apply to it).
        backward_lstm: FSNS code: a second LSTM (``blstm``, the published name) runs
            backwards over the T outputs of the first and the classifier reads its
            outputs, put back in forward order (``'lstm'`` head only).
    """

    image_size: tuple = (64, 64)
    views: int = 1
    num_regions: int = 1
    num_chars: int = 5
    num_classes: int = 11
    crop_size: tuple = (50, 50)
    char_map: object = 'svhn'
    loc_units: int = 256
    transform_head: str = 'linear'
    zoom: float = 0.9
    loc_input_size: object = None
    slot_layout: str = 'none'
    shortcut: str = 'code'
    pooling: str = 'code'
    rotation_dropout: str = 'code'
    rotation_dropout_ratio: float = 0.5
    backbone: str = 'small-resnet'
    rec_units: int = 256
    head: str = 'lstm'
    backward_lstm: bool = False

    def __post_init__(self):
        for f in ('views', 'num_regions', 'num_chars', 'num_classes', 'loc_units', 'rec_units'):
            v = getattr(self, f)
            if isinstance(v, numbers.Integral) and not isinstance(v, bool):
                setattr(self, f, int(v))
        for f in ('zoom', 'rotation_dropout_ratio'):
            v = getattr(self, f)
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                setattr(self, f, float(v))
        if isinstance(self.backward_lstm, numpy.bool_):
            self.backward_lstm = bool(self.backward_lstm)
        self.image_size = _pair_of_ints('image_size', self.image_size)
        self.crop_size = _pair_of_ints('crop_size', self.crop_size)
        if self.loc_input_size is not None:
            self.loc_input_size = _pair_of_ints('loc_input_size', self.loc_input_size)
        if isinstance(self.char_map, tuple):
            self.char_map = list(self.char_map)
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self):
        """Raise ``ValueError`` naming the field and the allowed values."""
        for name in ('views', 'num_regions', 'num_chars', 'num_classes', 'loc_units',
                     'rec_units'):
            _positive_int(name, getattr(self, name))
        if self.num_classes < 2:
            raise ValueError('SEEConfig.num_classes must be >= 2 (blank + characters), got %d'
                             % self.num_classes)
        _choice('transform_head', self.transform_head, TRANSFORM_HEADS)
        _choice('shortcut', self.shortcut, SHORTCUTS)
        _choice('pooling', self.pooling, POOLINGS)
        _choice('rotation_dropout', self.rotation_dropout, ROTATION_DROPOUTS)
        _choice('backbone', self.backbone, BACKBONES)
        _choice('head', self.head, HEADS)
        _choice('slot_layout', self.slot_layout, SLOT_LAYOUTS)
        if not isinstance(self.backward_lstm, bool):
            raise ValueError('SEEConfig.backward_lstm must be true or false, got %r'
                             % (self.backward_lstm,))
        if self.backward_lstm and self.head != 'lstm':
            raise ValueError("SEEConfig.backward_lstm needs head='lstm', got head=%r"
                             % self.head)
        for name in ('zoom', 'rotation_dropout_ratio'):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError('SEEConfig.%s must be a number, got %r' % (name, v))
        if not 0.0 <= self.rotation_dropout_ratio <= 1.0:
            raise ValueError('SEEConfig.rotation_dropout_ratio must be in [0, 1], got %r'
                             % self.rotation_dropout_ratio)
        if self.rotation_dropout == 'sample' and self.rotation_dropout_ratio >= 1.0:
            raise ValueError("SEEConfig.rotation_dropout_ratio is the drop probability in "
                             "mode 'sample' and must be < 1, got %r"
                             % self.rotation_dropout_ratio)
        if self.loc_input_size is not None:
            if shrink_factor(self.view_size, self.loc_input_size) is None:
                raise ValueError('SEEConfig.loc_input_size %dx%d must divide the view '
                                 '%dx%d by one whole factor on both sides'
                                 % (tuple(self.loc_input_size) + tuple(self.view_size)))
        H, W = self.image_size
        if W % self.views:
            raise ValueError('SEEConfig.image_size width %d is not divisible by views=%d '
                             '(the views lie side by side along the width)' % (W, self.views))
        if isinstance(self.char_map, str):
            if self.char_map not in CHAR_MAP_NAMES:
                raise ValueError('SEEConfig.char_map must be one of %s or a list of '
                                 'characters, got %r' % (CHAR_MAP_NAMES, self.char_map))
        elif isinstance(self.char_map, list):
            if not all(isinstance(c, str) and len(c) == 1 for c in self.char_map):
                raise ValueError('SEEConfig.char_map as a list must hold single characters')
            if len(self.char_map) != self.num_classes:
                raise ValueError('SEEConfig.char_map has %d characters but num_classes is %d'
                                 % (len(self.char_map), self.num_classes))
        else:
            raise ValueError('SEEConfig.char_map must be a name %s or a list of characters, '
                             'got %r' % (CHAR_MAP_NAMES, type(self.char_map).__name__))
        return self

    # ------------------------------------------------------------------ derived
    @property
    def view_size(self):
        """``(H, W / views)``: the size of one view, the localization network's input."""
        H, W = self.image_size
        return H, W // self.views

    @property
    def loc_read_size(self):
        """``(h, w)`` the localization network's layers see: ``loc_input_size`` or the
        view's own size."""
        return self.loc_input_size or self.view_size

    def get_char_map(self):
        """The model's ``CharMap`` (checks that it has ``num_classes`` characters)."""
        from chainer_see.data.char_map import CharMap
        if isinstance(self.char_map, str):
            cm = CharMap.load(self.char_map)
        else:
            cm = CharMap(self.char_map)
        if len(cm) != self.num_classes:
            raise ValueError('char map %r has %d classes but SEEConfig.num_classes is %d'
                             % (cm.name, len(cm), self.num_classes))
        return cm

    def replace(self, **changes):
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ (de)serialise
    def to_dict(self):
        """Plain JSON-serialisable dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d['image_size'] = list(self.image_size)
        d['crop_size'] = list(self.crop_size)
        if self.loc_input_size is not None:
            d['loc_input_size'] = list(self.loc_input_size)
        if isinstance(self.char_map, list):
            d['char_map'] = list(self.char_map)
        return d

    def to_json(self):
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, d):
        """Inverse of ``to_dict``; unknown keys raise ``ValueError`` naming them."""
        if not isinstance(d, dict):
            raise ValueError('SEEConfig.from_dict needs a dict, got %s' % type(d).__name__)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError('unknown SEEConfig field(s) %s; known fields: %s'
                             % (', '.join(unknown), ', '.join(sorted(known))))
        return cls(**d)

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(json.loads(text))

    @classmethod
    def preset(cls, name, **overrides):
        """``'svhn'``, ``'svhn-grid'``, ``'fsns'`` or ``'fsns-paper'`` with some fields
        overridden."""
        if name not in PRESETS:
            raise ValueError('unknown SEE preset %r; presets: %s'
                             % (name, ', '.join(sorted(PRESETS))))
        fields = dict(PRESETS[name])
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError('unknown SEEConfig field(s) %s in overrides of preset %r'
                             % (', '.join(unknown), name))
        fields.update(overrides)
        return cls(**fields)


PRESETS = {
    # The published SVHN model (Table 1): 64x64 crops around the house number.
    'svhn': dict(image_size=(64, 64), views=1, num_regions=1, num_chars=5, num_classes=11,
                 crop_size=(50, 50), char_map='svhn'),
    # Four house numbers in a 2x2 grid on a 200x200 image.
    'svhn-grid': dict(image_size=(200, 200), views=1, num_regions=4, num_chars=5,
                      num_classes=11, crop_size=(50, 50), char_map='svhn'),
    # FSNS as published (train_fsns.py): four 150x150 views, LSTM transform head with
    # default initialization, ResNet-152 reader, forward + backward LSTM, words <= 21 chars.
    'fsns': dict(image_size=(150, 600), views=4, num_regions=4, num_chars=21,
                 num_classes=134, crop_size=(75, 100), char_map='fsns',
                 transform_head='lstm', backbone='resnet152', rec_units=512,
                 backward_lstm=True),
    # The same with the paper's ResNet-18 reader.
    'fsns-paper': dict(image_size=(150, 600), views=4, num_regions=4, num_chars=21,
                       num_classes=134, crop_size=(75, 100), char_map='fsns',
                       transform_head='lstm', backbone='resnet18', rec_units=512,
                       backward_lstm=True),
}


def shrink_factor(size, read_size):
    """The whole number ``k`` with ``size == k * read_size`` on both sides, else ``None``
    (how ``loc_input_size`` shrinks a view: ``localization.shrink``)."""
    (H, W), (h, w) = size, read_size
    if H % h == 0 and W % w == 0 and H // h == W // w:
        return H // h
    return None


def _pair_of_ints(name, v):
    try:
        a, b = v
    except (TypeError, ValueError):
        raise ValueError('SEEConfig.%s must be a pair (height, width), got %r' % (name, v))
    for x in (a, b):
        if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x <= 0:
            raise ValueError('SEEConfig.%s must hold positive integers, got %r' % (name, v))
    return (int(a), int(b))


def _positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError('SEEConfig.%s must be a positive integer, got %r' % (name, v))


def _choice(name, v, allowed):
    if v not in allowed:
        raise ValueError('SEEConfig.%s must be one of %s, got %r'
                         % (name, ', '.join(repr(a) for a in allowed), v))
