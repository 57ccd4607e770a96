"""The home page's study record cards: one's own progress this year, and for an admin what
waits for them (counts only)."""

from core import clock
from core.roles import Role
from training.models import User
from training.records import activities, certificates, requirements
from training.records.record import hide_undisclosed, undisclosed_exams, year_totals


def summary(user: User) -> dict:
    year = clock.china_today().year
    found: dict = {"year": year, "progress": None, "admin": False}
    if user.has_any_role(Role.LEARNER):
        done = year_totals([user.id], year, published_only=True)[user.id]
        groups = requirements.groups_of(user.is_leader, user.is_enforcement_officer)
        progress = hide_undisclosed(
            requirements.evaluate_person(requirements.stored_rules(), groups, done, year),
            undisclosed_exams(user.id),
        )
        found["progress"] = progress
        found["hours"] = done.hours
        found["behind"] = requirements.behind_words(progress)
        found["unpublished"] = [item.label for p in progress for item in p.items if item.hidden]
    if user.has_any_role(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN):
        found["admin"] = True
        found["pending"] = len(activities.pending_reviews(user))
        found["due"] = len(certificates.due_list(user))
    return found
