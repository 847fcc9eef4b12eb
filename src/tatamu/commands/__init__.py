"""The ``tatamu`` subcommands, one module each: ``add_parser(subparsers)`` and ``run(args)``.

A command parses its options, calls the library and prints; what a run does and what a message
says is the library's. ``tatamu.cli`` lists the modules (one line each) and owns the error path.
A command's ``FLAGS`` table says how its options spell the library's parameter names
(``lr`` -> ``--lr``), so library messages name the flag the user typed
(:func:`tatamu.errors.spell`).
"""
