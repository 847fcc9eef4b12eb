"""Many independent jobs at once: a class's submissions graded, a sweep's training runs.

``engine.py`` runs jobs on a local pool or a Dask cluster; ``child.py`` runs one command in its
own process with its output kept within bounds; ``start.py`` is what a limited child runs first
(CPU, memory, file-size limits and no network, set with the standard library alone).
Not in the book, which trains one network in one process.
"""
