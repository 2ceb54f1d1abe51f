"""Imports flow one way: no cycle between modules, no import up the layers or across a tier.

Every ``import`` and ``from ... import`` in the library and the scripts is read from the source
(function-level and ``TYPE_CHECKING`` imports too), so a lazy import cannot hide a cycle. The
rules, lowest first:

- top-level packages: ``foresight_base`` < ``envs``, ``perception`` < ``world_models`` < ``agents``
  < ``scripts`` (``agents`` works on any gymnasium env, so it never imports ``envs``);
- inside ``envs``: ``sim`` < ``robots``, ``tasks`` < the gym envs (``envs/*.py``), ``adapters``,
  ``batched`` (one tier: a task never imports a robot, the deploy adapters never reach into a gym
  module);
- inside ``agents``: the base modules (``agent``, ``checkpoints``) < ``sb3`` < ``evaluation`` <
  ``planning`` < ``training`` < ``runs`` < ``deploy``.

Run it as a script (``python tests/test_layers.py``) to print the package graph it checked.
"""
from __future__ import annotations

import ast
import pathlib
import sys
from collections import defaultdict

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("foresight_base", "envs", "perception", "world_models", "agents", "scripts")
MAY_IMPORT = {  # top-level package -> the packages of ours it may import
    "foresight_base": set(),
    "envs": {"foresight_base"},
    "perception": {"foresight_base"},
    "world_models": {"foresight_base", "perception"},
    "agents": {"foresight_base", "perception", "world_models"},
    "scripts": set(PACKAGES),
}
TIERS = {  # sub-packages, lowest tier first; a group imports only lower tiers ("envs" = envs/*.py)
    "envs": [["envs.sim"], ["envs.robots", "envs.tasks"], ["envs", "envs.adapters", "envs.batched"]],
    "agents": [["agents"], ["agents.sb3"], ["agents.evaluation"], ["agents.planning"], ["agents.training"],
               ["agents.runs"], ["agents.deploy"]],
}


def module_files() -> dict[str, pathlib.Path]:
    """Dotted module name -> file, for every module of ours (a package is its ``__init__``)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_names(name: str, path: pathlib.Path) -> set[str]:
    """Every dotted name ``name``'s source imports, anywhere in the file; relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            found |= {f"{base}.{alias.name}" for alias in node.names} | {base}
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (a name resolves to its longest known prefix)."""
    modules = module_files()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(name, path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def group(module: str) -> str:
    """The layer a module belongs to: its sub-package (``agents.training``) or its top package."""
    parts = module.split(".")
    if len(parts) > 1 and (ROOT / parts[0] / parts[1]).is_dir():
        return f"{parts[0]}.{parts[1]}"
    return parts[0]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``a -> b`` for each import its layer may not make, with the rule it breaks."""
    rank = {g: (top, i) for top, tiers in TIERS.items() for i, tier in enumerate(tiers) for g in tier}
    problems = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            source_top, target_top = module.split(".")[0], target.split(".")[0]
            if source_top != target_top:
                if target_top not in MAY_IMPORT[source_top]:
                    allowed = sorted(MAY_IMPORT[source_top])
                    problems.append(f"{module} -> {target}: {source_top} may import only {allowed}")
                continue
            a, b = group(module), group(target)
            if a != b and a in rank and b in rank and rank[b][1] >= rank[a][1]:
                where = "the same tier as" if rank[b][1] == rank[a][1] else "a higher tier than"
                problems.append(f"{module} -> {target}: {b} is in {where} {a}")
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Layer -> the other layers its modules import."""
    edges = defaultdict(set)
    for module, targets in graph.items():
        edges[group(module)] |= {group(t) for t in targets} - {group(module)}
    return edges


def test_no_import_cycle_between_modules():
    assert cycles(import_graph()) == []


def test_no_upward_or_sideways_import_between_layers():
    assert upward_imports(import_graph()) == []


def test_the_checker_sees_a_cycle_an_upward_import_and_a_lazy_import():
    graph = {"agents.training.run": {"agents.deploy.log"}, "agents.deploy.log": {"agents.training.run"},
             "envs.tasks.reach": {"envs.robots.panda"}, "perception.encoders": {"envs.core"}}
    assert cycles(graph) == [["agents.deploy.log", "agents.training.run"]]
    assert len(upward_imports(graph)) == 3  # training -> deploy, tasks -> robots, perception -> envs
    lazy = imported_names("scripts.deploy", ROOT / "scripts" / "deploy.py")
    assert "envs.adapters.network" in lazy  # imported inside make_robot(), still an edge


if __name__ == "__main__":
    checked = import_graph()
    for layer, targets in sorted(package_graph(checked).items()):
        print(f"{layer:20s} -> {', '.join(sorted(targets)) or '(nothing of ours)'}")
    problems, loops = upward_imports(checked), cycles(checked)
    print(f"{len(checked)} modules, {sum(map(len, checked.values()))} imports of ours: "
          f"{len(loops)} cycles, {len(problems)} upward imports")
    print("\n".join([*problems, *(" <-> ".join(loop) for loop in loops)]))
    sys.exit(1 if problems or loops else 0)
