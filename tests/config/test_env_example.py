"""`.env.example` lists every variable the project reads from the environment (style.md, convention
9), and nothing it does not read. The reads are found in the source, not in a list kept by hand:
`env.<cast>("NAME")`, `env("NAME")`, `"NAME" in env` (django-environ), `os.environ[...]`,
`os.environ.get(...)` and `os.getenv(...)`, the name given literally or as a module constant; for the
reverse check also `$NAME` / `${NAME}` in the scripts under scripts/ (shell)."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "node_modules", "tests", "var", "test-artifacts", ".git", "__pycache__", "locale"}
# Flags between our own processes, set by manage.py and scripts/run-server: not settings to give.
INTERNAL = {
    "GRIDLINK_WALL_RELAY": "set by manage.py for the process that runs the wall relay (config/live.py)",
    "GRIDLINK_RELAY_PEERS": "set by scripts/run-server when several server processes share no Redis",
}
# Variables the shell scripts read that are the system's, not ours.
SHELL_SYSTEM = {"HOME", "PATH", "USER", "EUID", "UID", "PWD", "SUDO_USER", "TERM", "SHELL", "LANG", "PGHOST",
                "PGUSER", "PGPORT", "DEBIAN_FRONTEND", "NODE_OPTIONS", "TMPDIR"}
ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")


def python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIP_DIRS & set(p.relative_to(ROOT).parts))


def _constants(tree: ast.Module) -> dict[str, str]:
    """The module's NAME = "text" assignments, to resolve os.environ.get(FLAG)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _is_env(node: ast.expr) -> bool:
    """`env` (django-environ's Env, config/settings.py) or `os.environ`."""
    return (isinstance(node, ast.Name) and node.id == "env") or (
        isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)
        and node.value.id == "os")


def env_reads(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    constants = _constants(tree)

    def name_of(arg: ast.expr) -> str | None:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
        if isinstance(arg, ast.Name):
            return constants.get(arg.id)
        return None

    names: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            if _is_env(func) or (  # env("NAME")
                    isinstance(func, ast.Attribute) and _is_env(func.value) and func.attr not in (
                        "setdefault", "read_env", "update", "pop")) or (  # env.int("NAME"), os.environ.get
                    isinstance(func, ast.Attribute) and func.attr == "getenv"):  # os.getenv("NAME")
                names.add(name_of(node.args[0]))
        elif isinstance(node, ast.Subscript) and _is_env(node.value) and isinstance(node.ctx, ast.Load):
            names.add(name_of(node.slice))  # os.environ["NAME"]
        elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops) \
                and any(_is_env(c) for c in node.comparators):
            names.add(name_of(node.left))  # "NAME" in env
    names.discard(None)
    return {n for n in names if n is not None}


def read_from_python() -> dict[str, list[str]]:
    reads: dict[str, list[str]] = {}
    for path in python_files():
        for name in env_reads(path):
            reads.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return reads


def read_from_scripts() -> set[str]:
    names = set()
    for path in (ROOT / "scripts").iterdir():
        if path.is_file():
            names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", path.read_text(encoding="utf-8")))
    return names - SHELL_SYSTEM


def listed() -> set[str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return {m.group(1) for line in lines if (m := ENV_LINE.match(line))}


def test_the_source_reads_are_found():
    reads = read_from_python()
    assert {"SECRET_KEY", "DATABASE_URL", "TEST_DATABASE_NAME", "HANDOVER_ACCEPT_MINUTES"} <= reads.keys()
    assert reads["GRIDLINK_RELAY_PEERS"] == ["config/live.py"]  # through the module's constant


def test_env_example_names_every_variable_read():
    reads = read_from_python()
    missing = {name: files for name, files in reads.items() if name not in listed() and name not in INTERNAL}
    assert missing == {}, "add these to .env.example, with a comment saying what they do"


def test_env_example_names_only_variables_read():
    unread = listed() - read_from_python().keys() - read_from_scripts()
    assert unread == set()
