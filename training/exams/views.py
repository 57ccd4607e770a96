"""The candidate's side: assigned exams, the exam page and its JSON API, results."""

from flask import Blueprint

from training.exams import models  # noqa: F401  (the models must be known to the app)

bp = Blueprint("exams", __name__)
