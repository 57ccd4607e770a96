"""The landing page after login, by role."""

from datetime import timedelta

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from core import clock
from core.roles import Role
from training.exams import candidate
from training.study import practice

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    open_exams = 0
    practice_summary = None
    if current_user.has_any_role(Role.LEARNER):
        practice_summary = practice.home_summary(current_user.id, clock.now())
        # Read-only: an expired attempt it submits on the way is rolled back with the
        # request and submitted for good by the candidate's next real visit.
        grace = timedelta(seconds=current_app.config["EXAM_GRACE_SECONDS"])
        open_exams = candidate.open_exam_count(current_user, clock.now(), grace)
    return render_template("home.html", open_exams=open_exams, practice_summary=practice_summary)
