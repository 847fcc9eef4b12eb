"""The command line: the parser and the error path (``app.py``), the table that turns a library
fix into the running command's flag (``flags.py``), one module per command (``commands/``), and
the ``%tatamu`` notebook magic (``notebook.py``). Commands parse, call the library and print.
"""

from .app import main as main
