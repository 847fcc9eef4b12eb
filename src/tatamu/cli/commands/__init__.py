"""The ``tatamu`` subcommands, one module each: ``add_parser(subparsers)`` and ``run(args)``.

A command parses its options, calls the library and prints; what a run does and what a message
says is the library's. ``tatamu.cli`` lists the modules (one line each) and owns the error path.
A library error names its fix as data (:class:`tatamu.errors.Fix`); the CLI writes it as the
option the user types from one table (:mod:`tatamu.cli.flags`), so commands keep no tables of
their own.
"""
