"""Tools for the learner: the numerical gradient check (``gradcheck.py``), the worked arithmetic
of a layer (``explain.py``), the checker of a learner's own layers (``checker/``), and running
code that is not ours in a child process with time and memory limits (``isolate.py``).
"""

