"""Every audit action recorded anywhere in the code reads in Chinese: its name, its object
and each key of its detail. The actions and keys are read from the `record(...)` calls
themselves, so a new action without a label fails here."""

import ast
import re
from pathlib import Path

import pytest

from core import audit

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "app.py",
    *(
        path
        for folder in ("core", "training", "question_bank")
        for path in (ROOT / folder).rglob("*.py")
    ),
]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


class Module:
    """One source file, with what is needed to follow a name to the values it can hold."""

    def __init__(self, path: Path):
        self.path = path
        self.tree = ast.parse(path.read_text(), str(path))
        self.parents = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }
        self.functions = {
            node.name: node
            for node in ast.walk(self.tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }

    def function_of(self, node: ast.AST):
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def assigned(self, function, name: str) -> list[ast.expr]:
        """Expressions assigned (or |=) to `name` inside `function`."""
        values = []
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
                targets = [node.target]
            else:
                continue
            if any(isinstance(target, ast.Name) and target.id == name for target in targets):
                values.append(node.value)
        return values

    def arguments_for(self, function, name: str) -> list[tuple[ast.expr, ast.AST]]:
        """What callers in this module pass for parameter `name` of `function`."""
        params = [arg.arg for arg in function.args.args]
        if name not in params:
            return []
        position = params.index(name)
        found = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and _called_name(node) == function.name:
                if position < len(node.args):
                    found.append((node.args[position], node))
                found += [(kw.value, node) for kw in node.keywords if kw.arg == name]
        return found

    def returned(self, name: str) -> list[ast.expr]:
        function = self.functions.get(name)
        if function is None:
            return []
        return [n.value for n in ast.walk(function) if isinstance(n, ast.Return) and n.value]


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _strings(module: Module, expr: ast.expr, seen: set) -> set[str] | None:
    """Every string an expression may be: a constant, either branch of a conditional, a
    name followed to its assignments or, for a parameter, to what callers pass; None if
    some value cannot be known."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        parts = [_strings(module, expr.body, seen), _strings(module, expr.orelse, seen)]
        return None if None in parts else parts[0] | parts[1]
    if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
        # a lookup in a table of actions: any of the table's values
        tables = [t for t in module.assigned(module.tree, expr.value.id) if isinstance(t, ast.Dict)]
        parts = [_strings(module, value, seen) for table in tables for value in table.values]
        return None if not parts or None in parts else set().union(*parts)
    if not isinstance(expr, ast.Name) or expr in seen:
        return None
    seen.add(expr)
    function = module.function_of(expr)
    if function is None:
        return None
    sources = module.assigned(function, expr.id)
    sources += [argument for argument, _call in module.arguments_for(function, expr.id)]
    values: set[str] = set()
    for source in sources:
        found = _strings(module, source, seen)
        if found is None:
            return None
        values |= found
    return values or None


def _dict_keys(module: Module, expr: ast.expr, seen: set) -> set[str]:
    """The literal keys of every dict an expression may build, following names to their
    assignments and calls of this module's functions to what they return."""
    keys: set[str] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.Dict):
            keys |= {k.value for k in node.keys if isinstance(k, ast.Constant)}
        elif isinstance(node, ast.Name) and node.id not in seen:
            seen.add(node.id)
            function = module.function_of(node)
            for source in module.assigned(function, node.id) if function else []:
                keys |= _dict_keys(module, source, seen)
            for item in ast.walk(function) if function else []:  # name["key"] = value
                if isinstance(item, ast.Assign):
                    for target in item.targets:
                        if (
                            isinstance(target, ast.Subscript)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == node.id
                            and isinstance(target.slice, ast.Constant)
                        ):
                            keys.add(target.slice.value)
                            keys |= _dict_keys(module, item.value, seen)
        elif isinstance(node, ast.Call) and (name := _called_name(node)) not in seen:
            seen.add(name)
            for value in module.returned(name):
                keys |= _dict_keys(module, value, seen)
    return {key for key in keys if isinstance(key, str)}


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((kw.value for kw in call.keywords if kw.arg == keyword), None)


def recorded_actions() -> dict[str, dict]:
    """action → {"objects": object types, "keys": detail keys, "where": file:line}."""
    actions: dict[str, dict] = {}
    for path in SOURCES:
        module = Module(path)
        for call in ast.walk(module.tree):
            if not (isinstance(call, ast.Call) and _called_name(call) == "record"):
                continue
            if module.function_of(call) is module.functions.get("record"):
                continue  # record() calling itself, if it ever did
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            action = _argument(call, 1, "action")
            names = _strings(module, action, set()) if action is not None else None
            assert names, f"{where}: the action of this record() call cannot be read"
            object_type = _argument(call, 2, "object_type")
            objects = _strings(module, object_type, set()) if object_type is not None else set()
            assert objects is not None, f"{where}: the object type cannot be read"
            detail = _argument(call, 5, "detail")
            keys = _dict_keys(module, detail, set()) if detail is not None else set()
            for name in names:
                entry = actions.setdefault(name, {"objects": set(), "keys": set(), "where": []})
                entry["objects"] |= objects - {""}
                entry["keys"] |= keys
                entry["where"].append(where)
    return actions


RECORDED = recorded_actions()


def test_the_walk_finds_the_actions_of_every_domain():
    # If the walk stopped finding calls, the tests below would pass on nothing.
    for action in ("login.failure", "logout", "user.deactivate", "exam.publish", "question.edit"):
        assert action in RECORDED
    assert {"unit_id", "is_leader", "phone"} <= RECORDED["user.update"]["keys"]
    assert "query" in RECORDED["user.list"]["keys"]  # set as detail["query"] = ...


@pytest.mark.parametrize("action", sorted(RECORDED))
def test_every_recorded_action_reads_in_chinese(app, action):
    found = RECORDED[action]
    label = audit.action_labels().get(action, "")
    assert CHINESE.search(label), f"{action} ({found['where'][0]}) has no Chinese label"
    for kind in found["objects"]:
        assert CHINESE.search(audit.object_labels().get(kind, "")), f"{action}: object {kind}"
    english = sorted(k for k in found["keys"] if not CHINESE.search(audit.detail_label(action, k)))
    assert not english, f"{action}: detail keys that would be shown in English: {english}"
