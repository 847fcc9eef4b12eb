"""Pictures of a run: saved as PNG files, or returned as a Figure to show in a notebook.

The pictures live in :mod:`tatamu.viz` (matplotlib imported only when one is drawn, never
through pyplot, so no window ever opens); the training curves (``tatamu train`` draws them)
and the two pictures most asked for are re-exported here under their first names.
"""

from .viz.activations import plot_feature_maps as plot_feature_maps
from .viz.curves import plot_curves as plot_history
from .viz.weights import plot_filters as plot_filters

__all__ = ["plot_feature_maps", "plot_filters", "plot_history"]
