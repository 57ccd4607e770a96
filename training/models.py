"""Units (单位) and user accounts."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.extensions import db
from core.roles import Role

ROLE_VALUES = ", ".join(f"'{role.value}'" for role in Role)


class Unit(db.Model):
    """A node of the unit tree: district government > bureau > section; towns and streets."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_units_parent_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped["Unit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Unit"]] = relationship(
        back_populates="parent", order_by="(Unit.sort_order, Unit.id)"
    )

    def ancestors(self) -> list["Unit"]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain[::-1]

    @property
    def path(self) -> str:
        return " / ".join(unit.name for unit in [*self.ancestors(), self])

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name}>"


def subtree_ids(root_id: int) -> set[int]:
    """Ids of the unit and all units below it (one recursive query)."""
    tree = select(Unit.id).where(Unit.id == root_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Unit.id).where(Unit.parent_id == tree.c.id))
    return set(db.session.scalars(select(tree.c.id)))


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(f"role IN ({ROLE_VALUES})", name="known_role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    position: Mapped[str] = mapped_column(String(100), default="")
    #: 领导干部
    is_leader: Mapped[bool] = mapped_column(default=False)
    #: 行政执法人员
    is_enforcement_officer: Mapped[bool] = mapped_column(default=False)
    #: stored in full, shown only masked
    phone: Mapped[str] = mapped_column(String(20), default="")
    id_number: Mapped[str] = mapped_column(String(18), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    #: the hard lock, for privileged roles only (failed attempts: LoginFailure)
    locked_until: Mapped[datetime | None]
    #: bumped on password change, reset and deactivation; a login session remembers the
    #: version it started under, so bumping it ends every session of the account
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None]
    #: when the user last chose a password (None: never, e.g. still the temporary one)
    password_changed_at: Mapped[datetime | None]
    #: the TOTP secret (base32) once the second factor is enrolled, else None
    totp_secret: Mapped[str | None] = mapped_column(String(32))
    #: the last TOTP time step accepted, so that a code is never accepted twice
    totp_last_step: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)

    unit: Mapped[Unit] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan")

    #: the login session's token and start (str, datetime), and whether the user has an
    #: exam attempt open, set on the instance when a session is loaded (training.logins);
    #: not columns
    session_token = None
    session_started_at = None
    writing_exam = False

    def get_id(self) -> str | None:
        """Flask-Login keeps this in the cookie: the token of the login session."""
        return self.session_token

    @property
    def roles(self) -> set[Role]:
        return {Role(row.role) for row in self.role_rows}

    def set_roles(self, roles) -> None:
        wanted = {Role(role) for role in roles}
        self.role_rows = [row for row in self.role_rows if row.role in wanted]
        for role in sorted(wanted - self.roles):
            self.role_rows.append(UserRole(role=role.value))

    def has_any_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    @property
    def role_labels(self) -> str:
        return "、".join(role.label for role in Role if role in self.roles)

    def is_locked(self, moment: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > moment

    @property
    def locked_now(self) -> bool:
        return self.is_locked(clock.now())

    def __repr__(self) -> str:
        return f"<User {self.login}>"


def users_matching(keyword: str):
    """Name or login contains `keyword`, taken literally (% and _ are not wildcards)."""
    keyword = keyword.strip()
    return or_(
        User.name.contains(keyword, autoescape=True), User.login.contains(keyword, autoescape=True)
    )


class LoginSession(db.Model):
    """One login: the signed cookie carries its token, so logout can end it on the server."""

    __tablename__ = "login_sessions"

    #: SHA-256 of the token in the cookie, so a copy of the table cannot be replayed
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the user's session_version at login; a bump ends the session
    user_version: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=clock.default_now)
    ended_at: Mapped[datetime | None]
    ip: Mapped[str] = mapped_column(String(64), default="")


class LoginFailure(db.Model):
    """Consecutive failed logins per typed login name, known account or not, so that the
    CAPTCHA (and the hard lock of privileged accounts) cannot tell which logins exist."""

    __tablename__ = "login_failures"

    #: logins.failure_key of the typed login (a keyed hash: never the typed text)
    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]


class PasswordHistory(db.Model):
    """Hashes of the passwords a user chose, so that the last few are not chosen again."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=clock.default_now)


class RecoveryCode(db.Model):
    """A one-time code that stands in for the TOTP code when the phone is lost."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: SHA-256 of the code (random, 50 bits: a slow hash adds nothing)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class Setting(db.Model):
    """A site-wide setting an admin changes at run time (not configuration): the second
    factor's requirement, the certificate policy, the mock exam's format (JSON)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
