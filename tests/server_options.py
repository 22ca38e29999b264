"""The options every server process of ours runs with, as scripts/run-server (make run) reads them from
scripts/uvicorn-options: the benchmarks start their servers with the same ones."""

from pathlib import Path

OPTIONS_FILE = Path(__file__).resolve().parents[1] / "scripts" / "uvicorn-options"


def uvicorn_options() -> list[str]:
    """The file's options and values, one word each (its comment lines left out)."""
    return [word for line in OPTIONS_FILE.read_text().splitlines() if not line.startswith("#") for word in line.split()]
