"""Trainers and administrators: blueprints, exams, batches, the live board, regrading."""

from flask import Blueprint

bp = Blueprint("exam_admin", __name__, url_prefix="/manage")
