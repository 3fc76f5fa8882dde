"""A Flask application that mounts jobdeck's API and dashboard under /jobdeck, as README's
"Flask" section shows, served by Werkzeug's threaded server on a free port (printed as
`listening on http://127.0.0.1:PORT`). Environment: JOBDECK_URL, JOBDECK_QUEUE,
JOBDECK_PREFIX, JOBDECK_API_KEYS."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from jobdeck.web.wsgi import jobdeck_wsgi

app = Flask(__name__)


@app.get("/")
def home() -> str:
    return "the host application"


# The documented lines: jobdeck under /jobdeck, everything else Flask's.
app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
    app.wsgi_app,
    {
        "/jobdeck": jobdeck_wsgi(
            os.environ["JOBDECK_URL"],
            queue=os.environ.get("JOBDECK_QUEUE", "default"),
            prefix=os.environ.get("JOBDECK_PREFIX", "jobdeck"),
        )
    },
)

if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
