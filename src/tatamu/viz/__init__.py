"""Looking inside a CNN: pictures of filters, feature maps, mistakes, gradients (``tatamu show``).

The seeds understood convolution when they saw the numbers and the filters ("CNNは何を
見ているか"); these functions make each look one call (or one ``tatamu show`` command). Each
``plot_*`` saves a labelled PNG to the path it is given and returns the path, or, given no
path, returns the matplotlib Figure, which a notebook cell shows inline. Figures never go
through pyplot, so no window opens; matplotlib is imported only when a picture is drawn.

Modules: ``show`` (the command: checkpoint -> picture), ``weights`` (filters), ``activations``
(feature maps), ``mistakes`` (errors, confusion matrix), ``gradients`` (saliency, dreams),
``windows`` (``tatamu explain --png``), ``recipes`` (augmented digits, runs compared), ``probe``
(the NumPy behind them), ``figure``; ``plot_curves`` (loss and accuracy per epoch) is
:func:`tatamu.viz.plots.plot_history`.
"""

from .activations import plot_feature_maps as plot_feature_maps
from .gradients import plot_dream as plot_dream
from .gradients import plot_saliency as plot_saliency
from .mistakes import most_confident_mistakes as most_confident_mistakes
from .mistakes import plot_confusion as plot_confusion
from .mistakes import plot_errors as plot_errors
from .plots import plot_curves as plot_curves
from .probe import dream as dream
from .probe import layer_outputs as layer_outputs
from .probe import saliency_map as saliency_map
from .recipes import plot_augmented as plot_augmented
from .recipes import plot_runs as plot_runs
from .show import WHATS as WHATS
from .show import show as show
from .weights import plot_filters as plot_filters
from .windows import plot_walkthrough as plot_walkthrough
