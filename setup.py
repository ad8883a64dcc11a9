"""Packaging beyond pyproject.toml: the folders at the top of the repository go into the wheel.

``static/``, ``migrations/`` and ``questionnaires/`` stay where they are in a checkout, and
a built package carries a copy of each inside itself, as ``surveyapp/_shipped/<folder>``,
where ``surveyapp.PROJECT_ROOT`` finds them when the app is not run from a checkout.
Everything else is declared in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("static", "migrations", "questionnaires")
SKIPPED = {"__pycache__", ".DS_Store"}


class BuildWithShippedFolders(build_py):
    """build_py, then copy the shipped top-level folders into ``surveyapp/_shipped/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout itself
            return
        target = Path(self.build_lib) / "surveyapp" / "_shipped"
        for folder in SHIPPED:
            for source in sorted((HERE / folder).rglob("*")):
                relative = source.relative_to(HERE)
                if source.is_dir() or SKIPPED & set(relative.parts) or source.suffix == ".pyc":
                    continue
                destination = target / relative
                self.mkpath(str(destination.parent))
                self.copy_file(str(source), str(destination))


setup(cmdclass={"build_py": BuildWithShippedFolders})
