"""Runs a tools/*.py script in-process (the test process has mmseg imported already)."""
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_tool(name: str, *args: str, monkeypatch) -> None:
    monkeypatch.setattr(sys, 'argv', [name, *map(str, args)])
    runpy.run_path(str(REPO / 'tools' / name), run_name='__main__')
