"""tatamu's version: its own module, so that a checkpoint can record it without importing the
package face (which imports nearly everything, and would tie every module into one circle)."""

__version__ = "0.1.0"
