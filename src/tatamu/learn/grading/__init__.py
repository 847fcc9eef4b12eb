"""``tatamu grade``: a whole class's layers checked, each submission in its own limited process.

``submissions.py`` finds the submissions and the file holding each layer; ``job.py`` grades one
in a scratch copy (on this machine or a Dask worker, through :mod:`tatamu.batch.engine`), and
``child.py`` is the code that runs inside that limited process (``tatamu check --json``'s
machinery, one report per kind); ``rubric.py`` turns checks into points; ``gradebook.py`` writes
grades.csv, each student's feedback and Gradescope's results.json; ``summary.py`` the class's
summary; ``grade.py`` ties them together and lets a rerun grade only what is missing.
"""
