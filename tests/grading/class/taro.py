"""Crashes the interpreter itself: reads memory at address 0 through ctypes (SIGSEGV)."""

import ctypes

ctypes.string_at(0)
