"""A person's picture of a digit -> the 28x28 image a model reads: reading the file
(``images.py``), each preparation step as a small function (``steps.py``; for a photo of paper
under uneven light, ``paper.py``), the answer with its probabilities (``recognise.py``) and the
page to draw on or to give a photo to (``draw/``).
"""

from .images import EmptyPictureError as EmptyPictureError
from .images import PreparedDigit as PreparedDigit
from .images import prepare_digit as prepare_digit
from .images import read_picture as read_picture
