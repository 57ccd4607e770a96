"""`flask practice publish-mock`: publish the configured mock enforcement-certificate exam."""

import random

import click
from flask import current_app
from flask.cli import AppGroup

from core import clock
from core.audit import SYSTEM
from core.errors import ServiceError
from core.extensions import db
from training.study import mock

practice = AppGroup("practice", help="练习与模拟考试。")


@practice.command("publish-mock")
def publish_mock() -> None:
    """Publish ENFORCEMENT_MOCK_FORMAT (or the default format) as the current mock exam."""
    try:
        fmt = mock.configured_format(current_app.config)
        exam = mock.publish_mock(SYSTEM, fmt, clock.now(), random.Random())
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"已发布执法证模拟考试（{fmt.province}），满分 {fmt.total} 分，考试编号 {exam.id}。")
