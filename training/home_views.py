"""The landing page after login: a dashboard of what each of the user's roles acts on."""

from datetime import timedelta

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from core import clock
from core.roles import Role
from training.reports import dashboard
from training.study import practice

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    # Read-only: an expired attempt the learner's list submits on the way is rolled back
    # with the request and submitted for good by the candidate's next real visit.
    grace = timedelta(seconds=current_app.config["EXAM_GRACE_SECONDS"])
    practice_summary = None
    if current_user.has_any_role(Role.LEARNER):
        practice_summary = practice.home_summary(current_user.id, clock.now())
    board = dashboard.dashboard(current_user, clock.now(), grace)
    return render_template("home.html", board=board, practice_summary=practice_summary)
