"""Training a model: the fit loop (``loop.py``), its history and metrics, the run folder and the
training state it resumes from (``run.py``), the plan a run keeps (``plan.py``), Ctrl-C
(``interrupt.py``), the progress bar, the data checks, and the threads that split a batch
(``shards.py``). The book's ch. 7 ``Trainer``, grown up.

Import from the module that holds a name (``from tatamu.training.loop import fit``; the old
``tatamu.train`` still works): this face imports nothing, because ``model.py`` borrows the shard
runner from here and an eager face would tie the model to the whole training stack.
"""
