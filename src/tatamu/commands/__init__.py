"""The ``tatamu`` subcommands, one module each: ``add_parser(subparsers)`` and the handler."""
