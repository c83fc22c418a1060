"""BoxIoUReport: the IoU of predicted against true word boxes, with hand-computed values."""
import types

import chainer
import numpy
import pytest

from chainer_see.links.see import SEE
from chainer_see.training.extensions.box_iou import BoxIoUReport


class _Boxes(object):
    """Dataset of 2 images with 2 word slots; image 0 has two words, image 1 one."""
    labels = numpy.array([[[1, 2], [3, 0]], [[4, 0], [0, 0]]], numpy.int32)
    boxes = [numpy.array([[0, 0, 10, 10], [20, 20, 30, 30]], float),
             numpy.array([[0, 0, 10, 20]], float)]

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return numpy.full((3, 4, 4), i, numpy.float32), self.labels[i]

    def true_boxes(self, i):
        return self.boxes[i]


class _Model(object):
    """Predicts fixed boxes: region 0 = (0, 0, 10, 5), region 1 = (20, 20, 30, 30)."""
    config = types.SimpleNamespace(views=1)
    device = chainer.backend.CpuDevice()
    infer = SEE.infer          # the extension's forward: SEE's own test-mode forward

    def forward(self, x, return_features=False):
        assert not chainer.config.train
        boxes = numpy.tile(numpy.array([[0, 0, 10, 5], [20, 20, 30, 30]], 'f'),
                           (len(x), 1, 1))
        return types.SimpleNamespace(boxes=boxes)


def test_reports_mean_iou_and_share_over_words():
    report = BoxIoUReport(_Model(), _Boxes())
    assert report.available()
    # image 0: word 0 IoU 0.5 (half of the true box), word 1 IoU 1; image 1: word 0 0.25
    mean, share = report.measure()
    assert mean == pytest.approx((0.5 + 1.0 + 0.25) / 3)
    assert share == pytest.approx(2 / 3.0)

    observation = {}
    with chainer.reporter.Reporter().scope(observation):
        report(None)
    assert observation['validation/main/iou'] == pytest.approx(1.75 / 3)
    assert observation['validation/main/iou50'] == pytest.approx(2 / 3.0)


def test_dataset_without_boxes_reports_nothing():
    class NoBoxes(_Boxes):
        def true_boxes(self, i):
            return None
    report = BoxIoUReport(_Model(), NoBoxes())
    assert not report.available()
    observation = {}
    with chainer.reporter.Reporter().scope(observation):
        report(None)
    assert observation == {}


def test_probe_images_are_read_once_per_dataset():
    class Counting(_Boxes):
        reads = 0

        def __getitem__(self, i):
            Counting.reads += 1
            return _Boxes.__getitem__(self, i)
    report = BoxIoUReport(_Model(), Counting())
    report.measure()
    report.measure()
    assert Counting.reads == 2
    report.set_dataset(Counting())      # another dataset: read again
    report.measure()
    assert Counting.reads == 4


def test_a_level_view_is_read_again_only_when_the_level_changes():
    from chainer_see.training.levels import Curriculum, LevelView

    class Counting(_Boxes):
        reads = 0

        def __getitem__(self, i):
            Counting.reads += 1
            return _Boxes.__getitem__(self, i)
    curriculum = Curriculum(2)
    report = BoxIoUReport(_Model(), LevelView(curriculum, lambda level: Counting()))
    report.measure()
    report.measure()
    assert Counting.reads == 2
    curriculum.set(1)                   # the report is not told: it reads the level
    report.measure()
    report.measure()
    assert Counting.reads == 4
