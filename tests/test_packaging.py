"""The distribution carries what the server reads at run time (the smoke test in .ci/smoke_install.sh
proves it on a real `pip install .`; these checks fail faster)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import setuptools

from handlers import routes

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_python_package_is_listed_for_the_wheel():
    found = set(setuptools.find_packages(str(ROOT), include=["tokensmith*", "handlers*"]))
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert found <= listed, f"add to pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_specs_ship_as_package_data_from_openapi():
    setuptools_table = PYPROJECT["tool"]["setuptools"]
    assert setuptools_table["package-dir"]["handlers.openapi"] == "openapi"
    assert "*.yaml" in setuptools_table["package-data"]["handlers.openapi"]
    for stem, _base, _wire in routes.DIALECTS:
        assert (ROOT / "openapi" / f"{stem}.yaml").is_file()


def test_what_only_the_test_extra_installed_is_not_needed_at_run_time():
    runtime = " ".join(PYPROJECT["project"]["dependencies"])
    for needed in ("jsonschema", "rfc3339-validator", "fastjsonschema", "orjson"):
        assert needed in runtime, needed


def test_every_package_data_pattern_names_a_file_that_exists():
    setuptools_table = PYPROJECT["tool"]["setuptools"]
    for package, patterns in setuptools_table["package-data"].items():
        directory = ROOT / setuptools_table["package-dir"].get(package, package.replace(".", "/"))
        for pattern in patterns:
            assert any(directory.glob(pattern)), f"{package}: nothing matches {pattern!r} in {directory}"
