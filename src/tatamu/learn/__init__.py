"""Tools for the learner: the numerical gradient check (``gradcheck.py``), the worked arithmetic
of a layer (``explain.py``) and the checker of a learner's own layers (``checker/``).
"""

