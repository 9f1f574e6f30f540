"""Run from the repository root, `lab/` is a namespace package on sys.path: a folder in it named
like a module of the `lab` package (as `lab/parity/` once was beside `lab/lab/parity.py`) would
hide that module, and pytest would need `python -P`. One name per thing."""

from pathlib import Path

LAB_FOLDER = Path(__file__).resolve().parents[1]
PACKAGE = LAB_FOLDER / "lab"


def test_no_folder_beside_the_package_shadows_one_of_its_modules():
    modules = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()
    }
    folders = {p.name for p in LAB_FOLDER.iterdir() if p.is_dir() and p != PACKAGE}
    assert "parity" in modules and "teacher" in modules  # the check looks where the clash was
    assert modules & folders == set()
