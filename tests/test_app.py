import os
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import create_app
from core.extensions import db, include_in_migrations

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_match_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_in_migrations}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    first = create_app()
    key_file = Path(first.instance_path) / "secret_key"
    assert key_file.read_text().strip() == first.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64
    assert create_app().config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_an_sqlite_without_full_outer_join_is_refused_at_start(tmp_path, monkeypatch):
    """The progress page full-joins (SQLite 3.39): an older SQLite fails at start, with
    what to do, not on a learner's page."""
    import sqlite3

    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 37, 2))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.37.2")
    with pytest.raises(RuntimeError, match=r"SQLite 3\.37\.2 is too old: 3\.39 or newer"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1/exams")
    assert create_app()  # PostgreSQL does not care


def test_environment_configures_database_and_redis(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1/exams")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1/exams"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_broken_database(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db",
            "OUTAGE_DIR": str(tmp_path / "outages"),
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    assert [path.name.split("-")[-1] for path in (tmp_path / "outages").iterdir()] == [
        str(os.getpid())
    ]  # the server noted the outage


def test_security_headers_and_csp_without_inline_script(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_templates_have_no_inline_script_or_style_and_no_cdn():
    for path in (ROOT / "templates").rglob("*.html"):
        source = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", source), path
        assert " style=" not in source and "<style" not in source, path
        assert not re.search(r"\son[a-z]+\s*=", source), path
        assert not re.search(r"(src|href)=\"(https?:)?//", source), path


def test_static_assets_are_served_by_the_app(client):
    for asset in (
        "/static/vendor/bootstrap-5.3.9/bootstrap.min.css",
        "/static/vendor/bootstrap-5.3.9/bootstrap.bundle.min.js",
        "/static/css/app.css",
        "/static/css/print.css",
        "/static/js/app.js",
    ):
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_pages_are_chinese_and_phone_friendly(client):
    page = client.get("/login").text
    assert '<html lang="zh-CN">' in page
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page
    assert 'media="print"' in page


def test_error_pages_are_in_chinese(client, login_as):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    login_as()
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and "无权访问" in forbidden.text
    json_forbidden = client.get("/admin/users", headers={"Accept": "application/json"})
    assert json_forbidden.status_code == 403
    assert json_forbidden.json == {
        "error": "forbidden",
        "message": "您没有访问此页面的权限。如需开通，请联系单位管理员。",
    }


def test_server_error_page_is_in_chinese(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = client.get("/boom")
    assert response.status_code == 500 and "服务器出现错误" in response.text
