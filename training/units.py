"""The unit tree: listing, creating, renaming and removing empty units."""

from dataclasses import dataclass

from sqlalchemy import case, func, select

from core.audit import Actor, record
from core.extensions import db
from training.accounts import AccountError, can_manage_unit, manageable_unit_ids
from training.models import Unit, User


@dataclass
class TreeRow:
    unit: Unit
    depth: int
    has_children: bool = False
    #: people whose unit is this one
    user_count: int = 0
    #: people in this unit and every unit below it
    subtree_count: int = 0


def _walk(admin: User | None) -> list[TreeRow]:
    """The tree in display order (depth-first); limited to what `admin` manages."""
    units = db.session.scalars(select(Unit).order_by(Unit.sort_order, Unit.id)).all()
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    scope = manageable_unit_ids(admin) if admin is not None else None
    rows: list[TreeRow] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for unit in children.get(parent_id, []):
            if scope is None or unit.id in scope:
                rows.append(TreeRow(unit, depth, unit.id in children))
                walk(unit.id, depth + 1)
            else:
                walk(unit.id, depth)

    walk(None, 0)
    return rows


def head_counts() -> dict[int, tuple[int, int]]:
    """Per unit: (people directly in it, people in it and every unit below), one query."""
    below = select(Unit.id.label("top"), Unit.id.label("unit_id")).cte("below", recursive=True)
    below = below.union_all(select(below.c.top, Unit.id).where(Unit.parent_id == below.c.unit_id))
    direct = func.count(case((below.c.unit_id == below.c.top, User.id)))
    stmt = (
        select(below.c.top, direct, func.count(User.id))
        .join(User, User.unit_id == below.c.unit_id)
        .group_by(below.c.top)
    )
    return {top: (own, everyone) for top, own, everyone in db.session.execute(stmt)}


def tree_rows(admin: User | None = None) -> list[TreeRow]:
    """The tree with head counts, direct and of the whole subtree."""
    rows = _walk(admin)
    counts = head_counts()
    for row in rows:
        row.user_count, row.subtree_count = counts.get(row.unit.id, (0, 0))
    return rows


def unit_paths() -> dict[int, str]:
    """Every unit's path (区政府 / 区司法局 / 普法科) from one query, for reports."""
    parents, names = {}, {}
    for unit_id, parent_id, name in db.session.execute(select(Unit.id, Unit.parent_id, Unit.name)):
        parents[unit_id], names[unit_id] = parent_id, name
    paths: dict[int, str] = {}

    def path(unit_id: int) -> str:
        if unit_id not in paths:
            parent = parents[unit_id]
            paths[unit_id] = (
                names[unit_id] if parent is None else f"{path(parent)} / {names[unit_id]}"
            )
        return paths[unit_id]

    for unit_id in names:
        path(unit_id)
    return paths


def unit_choices(admin: User | None = None) -> list[tuple[int, str]]:
    return [(row.unit.id, "　" * row.depth + row.unit.name) for row in _walk(admin)]


def find_by_path_or_name(text: str) -> tuple[Unit | None, str | None]:
    """Resolve a unit written as a full path (a/b/c) or a name that is unique in the tree."""
    parts = [part.strip() for part in text.replace("／", "/").split("/") if part.strip()]
    if not parts:
        return None, "单位不能为空"
    candidates = db.session.scalars(select(Unit).where(Unit.name == parts[-1])).all()
    if len(parts) > 1:
        candidates = [
            unit
            for unit in candidates
            if [node.name for node in [*unit.ancestors(), unit]][-len(parts) :] == parts
        ]
    if not candidates:
        return None, f"单位「{text}」不存在"
    if len(candidates) > 1:
        return None, f"单位名称「{text}」不唯一，请写完整路径，如「上级单位/{parts[-1]}」"
    return candidates[0], None


def _check_name(name: str, parent_id: int | None, exclude: Unit | None = None) -> str:
    name = name.strip()
    if not name:
        raise AccountError("单位名称不能为空")
    same_parent = Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id
    clash = db.session.scalar(select(Unit).where(same_parent, Unit.name == name))
    if clash is not None and clash is not exclude:
        raise AccountError(f"同一上级单位下已有「{name}」")
    return name


def create_unit(actor: Actor, admin: User, name: str, parent_id: int | None) -> Unit:
    if parent_id is None and manageable_unit_ids(admin) is not None:
        raise AccountError("只有系统管理员可以新建顶级单位")
    if parent_id is not None and not can_manage_unit(admin, parent_id):
        raise AccountError("您无权在该单位下新建单位")
    unit = Unit(name=_check_name(name, parent_id), parent_id=parent_id)
    db.session.add(unit)
    db.session.flush()
    record(actor, "unit.create", object_type="unit", object_id=unit.id, summary=unit.path)
    return unit


def _can_edit_unit(admin: User, unit: Unit) -> bool:
    """System admins edit any unit; unit admins the units below their own."""
    scope = manageable_unit_ids(admin)
    return scope is None or (unit.id in scope and unit.id != admin.unit_id)


def rename_unit(actor: Actor, admin: User, unit: Unit, name: str) -> None:
    if not _can_edit_unit(admin, unit):
        raise AccountError("您无权修改该单位")
    old = unit.path
    unit.name = _check_name(name, unit.parent_id, exclude=unit)
    record(
        actor, "unit.rename", object_type="unit", object_id=unit.id, summary=f"{old} → {unit.path}"
    )


def delete_unit(actor: Actor, admin: User, unit: Unit) -> None:
    if not _can_edit_unit(admin, unit):
        raise AccountError("您无权删除该单位")
    if unit.children:
        raise AccountError("该单位下还有下级单位，不能删除")
    if db.session.scalar(select(func.count()).where(User.unit_id == unit.id)):
        raise AccountError("该单位下还有用户，请先调整用户所属单位")
    record(actor, "unit.delete", object_type="unit", object_id=unit.id, summary=unit.path)
    db.session.delete(unit)
