"""The load benchmark's baseline: a bare Flask app that parses a JSON body and sends it back.

Served by `benchmarks.load` with the same gunicorn settings as the skill
(`gunicorn -c gunicorn.conf.py benchmarks.echo_app:app`), so the gap between the two is the
skill's own work: verification off, envelope checks, ask-sdk, routing and SSML.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 128 * 1024  # the skill's limit


@app.post("/")
def echo() -> Response:
    """The request's JSON object, parsed and serialised again."""
    return jsonify(request.get_json())
