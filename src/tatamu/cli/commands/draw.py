"""``tatamu draw RUN [RUN...]``: serve the drawing page on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ...i18n import _, normalise

#: The only address served without asking: this machine, unreachable from others.
LOCAL = "127.0.0.1"
#: Runs side by side on one page (more would not fit a screen).
MAX_RUNS = 4


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "draw", help=_("a local web page to draw a digit on and watch the network read it"),
        description=_("Serve a page (http://127.0.0.1:PORT/) where you draw a digit and see, "
                      "live, the 28x28 input, the probabilities, the feature maps and each "
                      "preprocessing step. Given a run folder, a slider goes through its epochs "
                      "(0: the initial weights); given two runs, they are shown side by side. "
                      "The page speaks its browser's language unless --lang (or TATAMU_LANG) "
                      "names one. Ctrl-C stops it."))
    p.add_argument("checkpoint", type=Path, nargs="+", metavar="RUN",
                   help=_("a run folder (each epoch it saved, on a slider) or a .npz checkpoint; "
                          "up to {most} to compare side by side", most=MAX_RUNS))
    p.add_argument("--port", type=int, default=8000, help=_("port to listen on (0: any free one)"))
    p.add_argument("--host", default=LOCAL,
                   help=_("address to listen on (default 127.0.0.1, this machine only; another "
                          "one lets other machines use the page)"))
    p.set_defaults(run=run)


def run(args) -> int:
    from ...digits.draw import DrawApp, make_server, serve
    from ...digits.draw.app import epoch_span
    from ...errors import ConfigError

    if not 0 <= args.port <= 65535:
        raise ConfigError(_("--port must be 0 to 65535; got {port}", port=args.port))
    if len(args.checkpoint) > MAX_RUNS:
        raise ConfigError(_("{count} runs given; the page shows at most {most} side by side",
                            count=len(args.checkpoint), most=MAX_RUNS))
    # the page follows its browser's language unless the user named one for tatamu
    app = DrawApp(*args.checkpoint, language=getattr(args, "lang", None) or normalise(
        os.environ.get("TATAMU_LANG")))
    server = make_server(app, args.host, args.port)
    host, port = server.server_address[:2]
    if args.host != LOCAL:
        print(_("tatamu: warning: listening on {host}, not {local}: other machines that can "
                "reach this one can use the page and the model", host=host, local=LOCAL),
              file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    views = ", ".join(f"{view.name} " + (epoch_span(list(view.files)) if view.files
                                          else view.single.name) for view in app.views)
    print(_("tatamu draw: http://{host}:{port}/ ({views}; {framing} framing); Ctrl-C stops",
            host=shown if host not in ('0.0.0.0', '::') else LOCAL, port=port, views=views,
            framing=app.framing.name), flush=True)
    try:
        serve(server)
    except KeyboardInterrupt:
        print(_("tatamu draw: stopped"), file=sys.stderr)
    return 0
