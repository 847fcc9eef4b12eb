"""``tatamu draw``: a local page to draw a digit on and watch the network read it.

``app`` holds the model and answers the page's questions (what is this drawing, what did conv1
compute at this pixel); ``server`` serves ``page.html`` and the JSON API from the standard
library's ``ThreadingHTTPServer`` on 127.0.0.1, with the checks a local tool still needs.
"""

from .app import DrawApp as DrawApp
from .server import make_server as make_server
from .server import serve as serve
