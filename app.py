"""Application factory: configuration, extensions, blueprints and CLI. No business logic."""

import os
import secrets
import sqlite3
from pathlib import Path

from flask import Flask, flash, jsonify, redirect, request, url_for
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from core import admission, audit, backup, clock, outages, pool
from core.audit_cli import audit_cli
from core.errors import json_error, register_error_handlers
from core.extensions import csrf, db, limiter, login_manager, migrate
from core.input import refuse_unsafe_input
from core.roles import Role, wants_json
from core.transaction import TransactionalFlask
from core.web import REFUSALS, refuse, require_password_change, set_security_headers
from question_bank import audit_labels as bank_audit_labels
from question_bank import case_views, law_views, laws_cli
from question_bank import cli as bank_cli
from question_bank import views as bank_views
from training import (
    admin_views,
    audit_labels,
    audit_views,
    auth_views,
    cli,
    home_views,
    logins,
)
from training.exams import audit_labels as exam_audit_labels
from training.exams import cli as exam_cli
from training.exams import manage_views, marking_views
from training.exams import views as exam_views
from training.privacy import mask_id_number, mask_phone
from training.records import assessment_views, certificate_views, compliance_views, nominee_views
from training.records import audit_labels as records_audit_labels
from training.records import cli as records_cli
from training.records import views as records_views
from training.reports import audit_labels as report_audit_labels
from training.reports import cli as report_cli
from training.reports import views as report_views
from training.study import audit_labels as study_audit_labels
from training.study import learning as study_learning
from training.study import practice_cli, practice_views
from training.study import reviews as study_reviews
from training.study import views as study_views


def create_app(test_config: dict | None = None) -> Flask:
    app = TransactionalFlask(__name__, instance_relative_config=True)
    configure(app, test_config)
    # Ids are 32-bit in the database: a longer number in a URL is no page (404), not an
    # error from PostgreSQL.
    app.url_map.converters["int"] = DatabaseIdConverter
    configure_extensions(app)
    configure_blueprints(app)
    configure_audit(app)
    configure_request_hooks(app)
    configure_errors(app)
    configure_templates(app)
    app.cli.add_command(cli.create_admin)
    app.cli.add_command(cli.admin_password)
    app.cli.add_command(cli.seed_demo)
    app.cli.add_command(bank_cli.bank)
    app.cli.add_command(laws_cli.laws)
    app.cli.add_command(exam_cli.exams)
    app.cli.add_command(report_cli.reports)
    app.cli.add_command(practice_cli.practice)
    app.cli.add_command(records_cli.records)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup.backup)
    app.cli.add_command(backup.restore)
    return app


def _database_url(app: Flask) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'app.db'}"
    # Hosting tools often hand out postgres:// URLs; SQLAlchemy wants the driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


class DatabaseIdConverter(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def _engine_options() -> dict:
    options = {}
    if os.environ.get("DATABASE_POOLER") == "pgbouncer":
        # PgBouncer in transaction mode hands each transaction any server connection, and
        # Debian 12's (1.18) cannot carry prepared statements over: psycopg must not
        # prepare any (it does after a query's fifth run on a connection).
        options["connect_args"] = {"prepare_threshold": None}
    return options


def _secret_key(app: Flask) -> str:
    """SECRET_KEY from the environment, else generated once into instance/secret_key."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def configure(app: Flask, test_config: dict | None) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    redis_url = os.environ.get("REDIS_URL", "")
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=_database_url(app),
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(),
        REDIS_URL=redis_url,
        RATELIMIT_STORAGE_URI=redis_url or "memory://",
        LOGIN_RATE_LIMIT=os.environ.get("LOGIN_RATE_LIMIT", "20 per minute"),
        # After this many failed logins of one login name, each attempt needs a CAPTCHA.
        LOGIN_CAPTCHA_AFTER=_env_int("LOGIN_CAPTCHA_AFTER", 3),
        # Privileged accounts only (core.roles.PRIVILEGED_ROLES) are locked after these.
        LOGIN_MAX_FAILURES=_env_int("LOGIN_MAX_FAILURES", 5),
        LOGIN_LOCKOUT_MINUTES=_env_int("LOGIN_LOCKOUT_MINUTES", 15),
        IDLE_TIMEOUT_MINUTES=_env_int("IDLE_TIMEOUT_MINUTES", 30),
        SESSION_LIFETIME_HOURS=_env_int("SESSION_LIFETIME_HOURS", 12),
        # Days a password lasts before it must be changed at login (0: no expiry).
        PASSWORD_MAX_AGE_DAYS_PRIVILEGED=_env_int("PASSWORD_MAX_AGE_DAYS_PRIVILEGED", 90),
        PASSWORD_MAX_AGE_DAYS=_env_int("PASSWORD_MAX_AGE_DAYS", 0),
        # Answers sent up to this long after an exam's deadline still count (the network).
        EXAM_GRACE_SECONDS=_env_int("EXAM_GRACE_SECONDS", 30),
        EXTENSION_MAX_MINUTES=_env_int("EXTENSION_MAX_MINUTES", 60),
        # 候考: from this long before a batch opens its candidates wait on the exam's page,
        # which opens their papers at the start, each at a random moment within the spread
        # (so a batch does not arrive in one second; each one's time counts from its start).
        EXAM_WAITING_ROOM_MINUTES=_env_int("EXAM_WAITING_ROOM_MINUTES", 15),
        EXAM_START_SPREAD_SECONDS=_env_int("EXAM_START_SPREAD_SECONDS", 60),
        # Admission control (core.admission): per process, the costly requests (logins,
        # exam starts) at work at once, how many more may wait, for how long, and the range
        # of seconds a refused client is told to wait (Retry-After) before it comes back.
        ADMISSION_SLOTS=_env_int("ADMISSION_SLOTS", 2),
        ADMISSION_QUEUE=_env_int("ADMISSION_QUEUE", 2),
        ADMISSION_WAIT_SECONDS=float(os.environ.get("ADMISSION_WAIT_SECONDS", 1)),
        ADMISSION_RETRY_SECONDS=(2, 6),
        AUDIT_RETENTION_DAYS=_env_int("AUDIT_RETENTION_DAYS", audit.MIN_RETENTION_DAYS),
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        MAX_JSON_BYTES=64 * 1024,
        MAX_JSON_DEPTH=20,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_I18N_ENABLED=False,  # the token lives as long as the session does
    )
    if test_config is None:
        app.config["SECRET_KEY"] = _secret_key(app)
    else:
        app.config.update(test_config)
    if proxies := _env_int("PROXY_FIX_X_FOR", 0):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)


#: RIGHT and FULL OUTER JOIN (the progress page's mastery, training.study.progress)
SQLITE_MINIMUM = (3, 39)


def configure_extensions(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and (
        sqlite3.sqlite_version_info < SQLITE_MINIMUM
    ):
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} is too old: 3.39 or newer is needed "
            "(FULL OUTER JOIN); use PostgreSQL, or a Python linked to a newer SQLite"
        )
    db.init_app(app)
    with app.app_context():
        pool.ping_idle_connections(db.engine)
    outages.init_app(app)
    admission.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path) / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    if app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        app.logger.warning(
            "REDIS_URL 未设置：登录频率限制（LOGIN_RATE_LIMIT）在每个 worker 进程内单独计数，"
            "实际上限为设定值乘以进程数；多进程或多台服务器部署请设置 REDIS_URL。"
            "（按账号的登录失败计数与验证码在数据库中，不受影响。）"
        )
    login_manager.init_app(app)
    login_manager.user_loader(logins.load_session_user)
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    if wants_json():
        return json_error(401, "login_required", "请先登录")
    flash("请先登录。", "warning")
    return redirect(url_for("auth.login", next=request.full_path))


def configure_blueprints(app: Flask) -> None:
    for module in (
        auth_views,
        home_views,
        admin_views,
        audit_views,
        bank_views,
        case_views,
        law_views,
        exam_views,
        manage_views,
        marking_views,
        study_views,
        report_views,
        practice_views,
        records_views,
        nominee_views,
        certificate_views,
        compliance_views,
        assessment_views,
    ):
        app.register_blueprint(module.bp)
    # What else cites an article, for the law library's article pages (question_bank does
    # not know training): the study modules' lessons.
    app.extensions["law_citing_sources"] = [study_learning.lesson_citations]
    # What else a law revision puts under review besides questions: the lessons citing a
    # changed, removed or renumbered article (each listener returns how many it flagged).
    app.extensions["law_revision_listeners"] = [study_reviews.flag_lessons]
    # The bank and the law library (which lists the questions citing an article) are
    # closed to anyone writing an exam, and so are practice (it shows keys and the law),
    # marking (model answers, marking points) and the lessons (they quote the law): an
    # exam is closed book.
    for blueprint in (
        bank_views.bp,
        case_views.bp,
        law_views.bp,
        practice_views.bp,
        marking_views.bp,
        study_views.bp,
    ):
        app.before_request_funcs.setdefault(blueprint.name, []).append(
            exam_views.refuse_bank_while_writing
        )

    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as error:  # any database failure means unhealthy
            return jsonify(status="error", database=type(error).__name__), 503
        return jsonify(status="ok", database="ok")

    healthz.public = True
    healthz.own_transaction = True  # reads only; a failed SELECT must not become a 500


def configure_audit(app: Flask) -> None:
    """Each domain brings the labels its audit entries are shown with."""
    for labels in (
        audit.LABELS,
        audit_labels.LABELS,
        exam_audit_labels.LABELS,
        bank_audit_labels.LABELS,
        study_audit_labels.LABELS,
        records_audit_labels.LABELS,
        report_audit_labels.LABELS,
    ):
        audit.register(labels)
    if app.config["AUDIT_RETENTION_DAYS"] < audit.MIN_RETENTION_DAYS:
        raise RuntimeError(f"AUDIT_RETENTION_DAYS must be at least {audit.MIN_RETENTION_DAYS}")


def configure_request_hooks(app: Flask) -> None:
    app.before_request(refuse_unsafe_input)
    app.before_request(auth_views.enforce_session_limits)
    app.before_request(require_password_change)
    app.before_request(auth_views.require_second_factor_enrolment)
    app.after_request(set_security_headers)


def configure_errors(app: Flask) -> None:
    register_error_handlers(app)
    for status in REFUSALS:
        app.register_error_handler(status, refuse)


def configure_templates(app: Flask) -> None:
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.filters["china_time"] = clock.to_china_time
    app.jinja_env.globals["Role"] = Role
