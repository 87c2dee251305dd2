"""The `footing` command of the installed package (and `python -m webapp`):
Flask's command line on the app factory, the same commands as `flask --app wsgi`
in a checkout: `footing db upgrade`, `footing db current`, `footing translate
compile`, `footing create-organisation …`, `footing --help`."""
from __future__ import annotations

from flask.cli import FlaskGroup

from webapp import create_app

cli = FlaskGroup(name="footing", create_app=create_app,
                 help="Footing: migrations, organisations, catalogs, keys (see README).")


def main() -> None:
    cli.main(prog_name="footing")


if __name__ == "__main__":
    main()
