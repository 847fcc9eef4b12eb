"""``tatamu draw CHECKPOINT``: serve the drawing page on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ...i18n import _, normalise

#: The only address served without asking: this machine, unreachable from others.
LOCAL = "127.0.0.1"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "draw", help=_("a local web page to draw a digit on and watch the network read it"),
        description=_("Serve a page (http://127.0.0.1:PORT/) where you draw a digit and see, "
                      "live, the 28x28 input, the probabilities, the feature maps and each "
                      "preprocessing step. The page speaks its browser's language unless --lang "
                      "(or TATAMU_LANG) names one. Ctrl-C stops it."))
    p.add_argument("checkpoint", type=Path, help=_("a .npz checkpoint or a run folder"))
    p.add_argument("--port", type=int, default=8000, help=_("port to listen on (0: any free one)"))
    p.add_argument("--host", default=LOCAL,
                   help=_("address to listen on (default 127.0.0.1, this machine only; another "
                          "one lets other machines use the page)"))
    p.set_defaults(run=run)


def run(args) -> int:
    from ...digits.draw import DrawApp, make_server, serve
    from ...errors import ConfigError
    from ...training.run import resolve_checkpoint

    if not 0 <= args.port <= 65535:
        raise ConfigError(_("--port must be 0 to 65535; got {port}", port=args.port))
    path = resolve_checkpoint(args.checkpoint)
    # the page follows its browser's language unless the user named one for tatamu
    app = DrawApp(path, language=getattr(args, "lang", None) or normalise(
        os.environ.get("TATAMU_LANG")))
    server = make_server(app, args.host, args.port)
    host, port = server.server_address[:2]
    if args.host != LOCAL:
        print(_("tatamu: warning: listening on {host}, not {local}: other machines that can "
                "reach this one can use the page and the model", host=host, local=LOCAL),
              file=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    print(_("tatamu draw: http://{host}:{port}/ ({checkpoint}, {framing} framing); Ctrl-C stops",
            host=shown if host not in ('0.0.0.0', '::') else LOCAL, port=port, checkpoint=path.name,
            framing=app.framing.name), flush=True)
    try:
        serve(server)
    except KeyboardInterrupt:
        print(_("tatamu draw: stopped"), file=sys.stderr)
    return 0
