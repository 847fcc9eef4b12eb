"""Accuracy on phone photographs of written digits, with a model trained in this session.

Each MNIST test digit is written as pen strokes on paper and photographed under one lighting
condition (``photos.py``: light falling off across the sheet at a random angle, vignetting,
the straight soft edge of a shadow, warm or bluish paper, blur, sensor noise, JPEG at quality
60-85), then read back through ``tatamu.digits.recognise`` exactly as ``tatamu predict``
does. Only digits the model reads right as MNIST gives them are photographed: a miss is then
the preprocessing's fault. Labels are MNIST's. ``measure_photos.py`` measures more digits and
compares with another version of tatamu.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import first_correct
from photos import CONDITIONS, photograph

from tatamu.digits.images import EmptyPictureError, prepare_digit
from tatamu.digits.recognise import recognise

STRONGEST = "all at once: 0.92 -> 0.52, vignetting, shadow edge"
#: (condition, digits photographed, accuracy required): issue 27 asks 95% at even light and
#: 90% under the strongest condition; the others in between are held to 90%.
CASES = [("even light", 60, 0.95), ("light 0.92 -> 0.52 across the sheet", 30, 0.9),
         ("vignetting (corners at 70%)", 20, 0.9),
         ("a shadow edge across the sheet (60% light)", 30, 0.9), (STRONGEST, 60, 0.9)]
META = {"dataset": "mnist"}


@pytest.mark.parametrize(("condition", "count", "required"), CASES, ids=[c[0] for c in CASES])
def test_photographed_digits_are_read_right(digit_model, mnist_test_set, condition, count,
                                            required):
    x, y = mnist_test_set
    indices = first_correct(digit_model, x[:400], y[:400], count)
    rng = np.random.default_rng(27)
    answers = []
    for i in indices:
        try:
            answers.append(recognise(digit_model, META, photograph(
                x[i, 0], CONDITIONS[condition], rng)).prediction)
        except EmptyPictureError:  # a refusal counts as a miss
            answers.append(-1)
    answers = np.array(answers)
    accuracy = float(np.mean(answers == y[indices]))
    assert accuracy >= required, (f"{condition}: {accuracy:.1%} of {count}, "
                                  f"{int(np.sum(answers == -1))} refused as blank")


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_an_empty_photographed_sheet_is_refused_naming_the_contrast(condition):
    rng = np.random.default_rng(2727)
    for _ in range(3):
        with pytest.raises(EmptyPictureError, match=r"has no ink: it is blank \(its marks "
                                                    r"differ from the background by only "
                                                    r"-?\d+\.\d% of its brightness"):
            prepare_digit(photograph(None, CONDITIONS[condition], rng), name="the sheet")


@pytest.mark.parametrize("condition", ["even light", "light 0.92 -> 0.52 across the sheet"])
def test_a_faint_pencil_is_answered_unsure_with_a_hint(digit_model, mnist_test_set,
                                                       condition):
    """Strokes 15% darker than the paper: read, never refused as blank, but flagged."""
    x, y = mnist_test_set
    rng = np.random.default_rng(5)
    indices = first_correct(digit_model, x[:100], y[:100], 6)
    answers = [recognise(digit_model, META, photograph(x[i, 0], CONDITIONS[condition], rng,
                                                       ink=(0.85, 0.85, 0.86)))
               for i in indices]
    assert all(a.unsure and a.hint and "faint" in a.hint for a in answers)
    assert all(0 < a.prepared.contrast < 0.2 for a in answers)
    assert np.mean([a.prediction for a in answers] == y[indices]) >= 4 / 6
