"""The one build step pyproject.toml cannot say: the wheel carries the top-level
migrations/ (Alembic's scripts, which stay where they are) as webapp/migrations,
where webapp/cli.py finds them in an installed package. Everything else about
the package is in pyproject.toml."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MIGRATIONS = HERE / "migrations"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install uses the checkout's migrations/
            return
        for source in sorted(MIGRATIONS.rglob("*")):
            if source.suffix in (".py", ".mako") and "__pycache__" not in source.parts:
                target = Path(self.build_lib, "webapp", source.relative_to(HERE))
                self.mkpath(str(target.parent))
                self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildPy})
