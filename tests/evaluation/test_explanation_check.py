"""The photo explanations' check against the generator's marks (evaluation/yardsticks.py)."""
import numpy as np

from evaluation.yardsticks import centre_blob, explanation_mark_share


def test_a_map_on_the_marks_beats_the_centre_blob_and_one_off_them_does_not():
    masks = np.zeros((2, 16, 16), dtype=bool)
    masks[:, 2:5, 2:5] = True  # a mark off-centre, in the top-left
    on_marks = masks.astype(float) * 2.0
    off_marks = np.zeros((2, 16, 16))
    off_marks[:, 10:13, 10:13] = 1.0
    negative_on_marks = -on_marks  # occlusion: greying a wear mark out raises the price
    share = explanation_mark_share({"grad_cam": on_marks, "saliency": off_marks, "occlusion": negative_on_marks}, masks)
    assert share["grad_cam_mark_share"] == 1.0 and share["saliency_mark_share"] == 0.0
    assert share["occlusion_mark_share"] == 1.0  # by magnitude
    assert share["uniform_mark_share"] == 9 / 256
    assert 0 < share["centre_blob_mark_share"] < share["uniform_mark_share"]  # the blob favours the centre


def test_the_centre_blob_peaks_at_the_centre_and_is_symmetric():
    blob = centre_blob(16)
    assert blob.shape == (16, 16) and np.allclose(blob, blob.T) and np.allclose(blob, blob[::-1, ::-1])
    assert blob[7:9, 7:9].min() == blob.max()
