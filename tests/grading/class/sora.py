"""Ends the process when loaded (os._exit skips every handler): no result can come back."""

import os

os._exit(0)
