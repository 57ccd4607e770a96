"""The bare reference for answer saves: a minimal Flask app doing the one upsert.

No session, no CSRF, no login, no ORM: parse the JSON body, run the single
INSERT ... ON CONFLICT DO UPDATE ... WHERE seq < excluded.seq on the same `responses`
table, commit, answer JSON. Served by gunicorn with the same settings as the real app
(`exam_day.py saves --bare` starts it), so the real save path can be reported as a
fraction of this limit.

    DATABASE_URL=... gunicorn --pythonpath bench "bare_upsert:create_app()"
"""

import json
import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

UPSERT = """
INSERT INTO responses (attempt_id, item_id, answer, seq, saved_at)
VALUES (:attempt_id, :item_id, {answer}, :seq, :saved_at)
ON CONFLICT (attempt_id, item_id) DO UPDATE
SET answer = excluded.answer, seq = excluded.seq, saved_at = excluded.saved_at
WHERE responses.seq < excluded.seq
"""
NEWEST = "SELECT seq FROM responses WHERE attempt_id = :attempt_id AND item_id = :item_id"


def engine_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(engine_url(os.environ["DATABASE_URL"]))
    answer = "CAST(:answer AS json)" if engine.dialect.name == "postgresql" else ":answer"
    upsert, newest = text(UPSERT.format(answer=answer)), text(NEWEST)

    @app.post("/attempts/<int:attempt_id>/answers")
    def save(attempt_id: int):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(error="bad_request"), 400
        values = {
            "attempt_id": attempt_id,
            "item_id": body.get("item_id"),
            "answer": json.dumps(body.get("answer")),
            "seq": body.get("seq"),
            "saved_at": datetime.now(UTC).replace(tzinfo=None),
        }
        with engine.begin() as connection:
            seq = values["seq"]
            if not connection.execute(upsert, values).rowcount:
                seq = connection.execute(newest, values).scalar()
        return jsonify(saved=True, seq=seq)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app
