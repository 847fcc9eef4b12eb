"""The ``tatamu`` subcommands that live in their own module: each has ``add_parser(subparsers)``."""
