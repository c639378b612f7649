"""Packaging checks: conda and pip requirements agree, public names import, the core stays plot-free,
and the README / CI use the two user commands."""

import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def pyproject_requirements() -> list[str]:
    """``[project].dependencies`` followed by every optional-dependency extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    return requirements


def environment_pip_requirements() -> list[str]:
    """The entries of the ``- pip:`` list in environment.yml (simple line parsing, no yaml dependency)."""
    requirements, in_pip = [], False
    for line in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped.strip():
            continue
        if stripped.strip() == "- pip:":
            in_pip, pip_indent = True, len(stripped) - len(stripped.lstrip())
            continue
        indent = len(stripped) - len(stripped.lstrip())
        if in_pip and indent > pip_indent and stripped.strip().startswith("- "):
            entry = stripped.strip()[2:].strip().strip("\"'")
            if entry != "-e .":
                requirements.append(entry)
        elif in_pip:
            in_pip = False
    return requirements


def test_environment_yml_matches_pyproject():
    expected = pyproject_requirements()
    listed = environment_pip_requirements()
    assert listed, "environment.yml has no '- pip:' list"
    assert sorted(listed) == sorted(expected), (
        f"only in environment.yml: {sorted(set(listed) - set(expected))}; "
        f"only in pyproject.toml: {sorted(set(expected) - set(listed))}"
    )
    assert len(listed) == len(set(listed)), "environment.yml lists a requirement twice"


def test_environment_yml_installs_the_package_itself():
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert any(line.strip() == "- -e ." for line in text.splitlines())


def test_public_names_import():
    from deepmix_core import DRMM, GMM, Box, Equality, GaussianPrior, Inequality
    from deepmix_core.data import sierpinski, swiss_roll
    from deepmix_core.metrics import precision_recall

    for name in (GMM, DRMM, GaussianPrior, Inequality, Equality, Box, swiss_roll, sierpinski, precision_recall):
        assert callable(name)


def test_core_does_not_import_plotting_libraries():
    code = (
        "import sys, deepmix_core, deepmix_core.data, deepmix_core.metrics; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'plotly', 'ipywidgets'}); "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr


def test_readme_shows_the_two_user_commands():
    readme = ROOT / "README.md"
    assert readme.exists(), "README.md is missing"
    text = readme.read_text(encoding="utf-8")
    assert "make lab" in text
    assert "make test" in text


def test_ci_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "make test" in commands
