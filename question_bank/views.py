"""The trainers' screens for the question bank."""

from flask import Blueprint

bp = Blueprint("bank", __name__, url_prefix="/bank")
