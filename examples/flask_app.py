"""A synchronous web app that queues jobs through `SyncJobService` (Flask is only this
example's dependency, not jobdeck's).

    pip install flask
    JOBDECK_URL=redis://localhost:6379/0 flask --app examples.flask_app run
    jobdeck worker examples.tasks:service --url redis://localhost:6379/0   # elsewhere
    curl -X POST localhost:5000/add -d a=2 -d b=3      # -> {"id": "..."}
    curl localhost:5000/jobs/<id>                      # -> {"status": "completed", "result": 5}
"""

from __future__ import annotations

import os

from flask import Flask, abort, jsonify, request

from jobdeck.core import SyncJobService

# One client for the whole process: every request thread shares its event loop thread.
jobs = SyncJobService(os.environ.get("JOBDECK_URL"), queue="default")


def create_app(client: SyncJobService = jobs) -> Flask:
    app = Flask(__name__)

    @app.post("/add")
    def add() -> object:
        try:
            a, b = int(request.form["a"]), int(request.form["b"])
        except (KeyError, ValueError):
            abort(400, "a and b: integers")
        return jsonify(id=client.submit_job("add", (a, b))), 201

    @app.get("/jobs/<job_id>")
    def status(job_id: str) -> object:
        try:
            job = client.get_job(job_id)
        except ValueError:
            job = None
        if job is None:
            abort(404)
        return jsonify(
            id=job.id,
            status=job.status.value,
            result=job.result,
            error=job.error.message if job.error else None,
        )

    return app


app = create_app()
