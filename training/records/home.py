"""The home page's study record cards: one's own progress this year, and for an admin what
waits for them (counts only)."""

from decimal import Decimal

from core import clock
from core.roles import Role
from training.models import User
from training.records import activities, certificates, requirements
from training.records.record import facts_of_people


def summary(user: User) -> dict:
    year = clock.china_today().year
    found: dict = {"year": year, "progress": None, "admin": False}
    if user.has_any_role(Role.LEARNER):
        facts = facts_of_people([user.id], year)[user.id]
        groups = requirements.groups_of(user.is_leader, user.is_enforcement_officer)
        progress = requirements.evaluate_person(requirements.stored_rules(), groups, facts, year)
        found["progress"] = progress
        found["hours"] = sum((hours for _, hours in facts.credits), Decimal(0))
        found["behind"] = requirements.behind_words(progress)
    if user.has_any_role(Role.SYSTEM_ADMIN, Role.UNIT_ADMIN):
        found["admin"] = True
        found["pending"] = len(activities.pending_reviews(user))
        found["due"] = len(certificates.due_list(user))
    return found
