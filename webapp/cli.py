"""Command-line tools: `flask db …` (migrations, backup), `flask seed-demo`, `flask translate …`."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from babel.messages.pofile import read_po
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .cyrillic import DERIVED, derived_catalog, write_derived
from .db import BackupError, Base, backup_sqlite, db_session, get_db
from .demo import add_demo_returnee, seed_demo
from .errors import DomainError
from .network import service as network
from .organisation.service import Settings, create_organisation
from .privacy.service import delete_again
from .push.service import generate_vapid as make_keys
from .sealed import reseal

ROOT = Path(__file__).resolve().parent.parent
I18N = Path(__file__).resolve().parent / "i18n"
POT = I18N / "messages.pot"
BABEL_CFG = ROOT / "babel.cfg"


def migrations_dir() -> Path:
    """Alembic's scripts: webapp/migrations in an installed package (the wheel
    carries the top-level migrations/ there, see pyproject.toml), else the
    checkout's migrations/."""
    packaged = Path(__file__).resolve().parent / "migrations"
    return packaged if packaged.is_dir() else ROOT / "migrations"


def alembic_config() -> AlembicConfig:
    """Alembic configured here, not by alembic.ini, which an installed package
    does not have. Its output goes to the current sys.stdout (click's, in tests)."""
    cfg = AlembicConfig(stdout=sys.stdout)
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.set_main_option("sqlalchemy.url", current_app.config["DATABASE_URL"].replace("%", "%%"))
    return cfg


@click.group("db", cls=AppGroup)
def db_group() -> None:
    """Database migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    command.upgrade(alembic_config(), revision)


@db_group.command("downgrade")
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    command.downgrade(alembic_config(), revision)


@db_group.command("current")
@click.option("-v", "--verbose", is_flag=True)
def current(verbose: bool) -> None:
    """Print the database's revision ("(head)" when it is up to date; nothing
    before the first upgrade)."""
    command.current(alembic_config(), verbose=verbose)


@db_group.command("history")
@click.option("-r", "--rev-range", default=None, help="E.g. base:current, -3:.")
@click.option("-v", "--verbose", is_flag=True)
def history(rev_range: str | None, verbose: bool) -> None:
    """List the migrations, newest first, marking the database's with (current)."""
    command.history(alembic_config(), rev_range=rev_range, verbose=verbose,
                    indicate_current=True)


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def revision(message: str) -> None:
    """Write a new migration from the difference between models and database."""
    command.revision(alembic_config(), message=message, autogenerate=True)


@db_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Copy the embedded SQLite database to TARGET, safely while the app runs."""
    try:
        size = backup_sqlite(get_db().engine, target)
    except BackupError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Backup written to {target} ({size / 1024:.0f} KB) and checked.")
    click.echo("It holds personal data: keep it encrypted and away from the server. "
               "Reading the staff two-factor secrets in it needs DATA_KEY.")


@click.command("delete-again")
@with_appcontext
@click.argument("user_ids", nargs=-1, type=int, required=True)
def delete_again_command(user_ids: tuple[int, ...]) -> None:
    """After restoring a backup: delete again the accounts deleted since it
    was made (the log lines `account.delete user=ID` give their ids). All
    or nothing: one id that is not a returnee's changes nothing."""
    session = db_session()
    done = {}
    for user_id in user_ids:
        try:
            done[user_id] = sum(delete_again(session, user_id).values())
        except DomainError as err:
            raise click.ClickException(f"account {user_id}: {err.message}") from None
    session.commit()
    for user_id, rows in done.items():
        click.echo(f"Account {user_id}: deleted ({rows} rows erased).")


@click.command("reseal")
@with_appcontext
def reseal_command() -> None:
    """Seal every encrypted column again with DATA_KEY (after a new key,
    with the old one in DATA_KEY_RETIRED); then the old key can go."""
    session = db_session()
    try:
        done = reseal(session.connection(), Base.metadata)
    except RuntimeError as err:
        raise click.ClickException(str(err)) from None
    session.commit()
    click.echo(f"{done} value(s) sealed again with DATA_KEY.")


@click.command("seed-demo")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
def seed_demo_command(as_json: bool) -> None:
    """Create a demo organisation with an account in each role and print them."""
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("seed-demo refuses to run with the production configuration.")

    session = db_session()
    data = seed_demo(session)
    session.commit()
    if as_json:
        click.echo(json.dumps(data.as_dict(), indent=2))
        return
    click.echo(f"Demo organisation: {data.organisation}")
    for a in data.accounts:
        if a.email:
            click.echo(f"  {a.role:<12} {a.name:<18} {a.email}  password: {a.password}"
                       f"  TOTP secret: {a.totp_secret}")
        else:
            code = a.activation_code or "(already activated)"
            click.echo(f"  {a.role:<12} {a.name:<18} activation code: {code}")
    if data.sending_accounts:
        click.echo(f"Sending organisation (counselling before departure): "
                   f"{data.sending_organisation}")
        for a in data.sending_accounts:
            if a.email:
                click.echo(f"  counsellor   {a.name:<18} {a.email}  password: {a.password}"
                           f"  TOTP secret: {a.totp_secret}")
            else:
                code = a.activation_code or "(already activated)"
                click.echo(f"  preparing    {a.name:<18} activation code: {code}")
    click.echo("Staff: sign in at /signin/staff; the TOTP secret goes into an authenticator app "
               "(or: python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\").")
    click.echo("Returnees: open /activate on a phone and enter the code.")


@click.command("demo-returnee")
@with_appcontext
@click.argument("name", required=False)
@click.option("--caseworker", "caseworker_email", help="E-mail of the demo caseworker.")
@click.option("--locale", default="en")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read one person a line as JSON ({\"name\", \"caseworker\", \"locale\"}) "
                   "and answer each on a line of its own: one process for many (the browser "
                   "tests make about thirty).")
def demo_returnee_command(name: str | None, caseworker_email: str | None, locale: str,
                          from_stdin: bool) -> None:
    """Add a returnee to the demo organisation and print it as JSON."""
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException(
            "demo-returnee refuses to run with the production configuration.")
    if from_stdin:
        for line in sys.stdin:
            if line.strip():
                click.echo(json.dumps(_demo_returnee_asked(line)))
                sys.stdout.flush()
        return
    if not name:
        raise click.UsageError("Give the person's name, or --stdin.")
    click.echo(json.dumps(_demo_returnee(name, caseworker_email, locale)))


def _demo_returnee_asked(line: str) -> dict:
    """One line of `demo-returnee --stdin`: the account made, or {"error": why}
    (a line that is not a person is answered too, and the next goes on)."""
    try:
        asked = json.loads(line)
        name = asked["name"]
        if not isinstance(name, str) or not name.strip():
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return {"error": 'not a person: give {"name": ..., "caseworker": ..., "locale": ...}'}
    try:
        return _demo_returnee(name, asked.get("caseworker"), asked.get("locale") or "en")
    except click.ClickException as err:
        return {"error": err.message}


def _demo_returnee(name: str, caseworker_email: str | None, locale: str) -> dict:
    session = db_session()
    try:
        account = add_demo_returnee(session, name, caseworker_email=caseworker_email,
                                    locale=locale)
    except RuntimeError as err:
        session.rollback()
        raise click.ClickException(str(err)) from None
    session.commit()
    return asdict(account)


@click.command("create-organisation")
@with_appcontext
@click.option("--name", required=True, help="Name of the partner organisation.")
@click.option("--country", required=True, help="Two-letter country code, e.g. SL.")
@click.option("--timezone", "timezone_", required=True, help="E.g. Africa/Freetown.")
@click.option("--currency", required=True, help="Currency of plan budgets, e.g. SLE.")
@click.option("--emergency-phone", default="", help="Shown to returnees: 'In danger now? Call'.")
@click.option("--followup-months", default="1,3,6,12", show_default=True)
@click.option("--coordinator-name", required=True)
@click.option("--coordinator-email", required=True)
@click.option("--locale", default="en", show_default=True, help="The coordinator's language.")
def create_organisation_command(name, country, timezone_, currency, emergency_phone,
                                followup_months, coordinator_name, coordinator_email,
                                locale) -> None:
    """Start a partner organisation and its first coordinator. Prints the
    coordinator's activation code once (it is stored only as a hash)."""


    if locale not in current_app.config["LANGUAGES"]:
        raise click.BadParameter(f"one of {', '.join(current_app.config['LANGUAGES'])}",
                                 param_hint="--locale")
    if not coordinator_name.strip():
        raise click.BadParameter("must not be empty", param_hint="--coordinator-name")
    try:
        email = validate_email(coordinator_email, check_deliverability=False).normalized
        months = [int(m) for m in followup_months.split(",") if m.strip()]
    except EmailNotValidError as err:
        raise click.BadParameter(str(err), param_hint="--coordinator-email") from None
    except ValueError:
        raise click.BadParameter("whole months, e.g. 1,3,6,12",
                                 param_hint="--followup-months") from None
    session = db_session()
    try:
        issued = create_organisation(
            session, settings=Settings(name, emergency_phone, timezone_, currency, months),
            country=country, coordinator_name=coordinator_name,
            coordinator_email=email, locale=locale)
    except DomainError as err:
        raise click.ClickException(f"{err.field or 'input'}: {err.message}") from None
    session.commit()
    click.echo(f"Organisation {name!r} made, with coordinator {email}.")
    click.echo(f"Activation code (valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC, "
               f"shown this once): {issued.code}")
    click.echo("The coordinator opens /activate, types the code, sets a password and "
               "an authenticator app.")


@click.group("network", cls=AppGroup)
def network_group() -> None:
    """Organisations in a network (issue #21): who counsels before departure,
    who follows after return, and who may hand people over to whom."""


def _network_change(change) -> None:
    session = db_session()
    try:
        message = change(session)
    except DomainError as err:
        raise click.ClickException(str(err.message)) from None
    session.commit()
    click.echo(message)


@network_group.command("kind")
@click.argument("organisation")
@click.argument("kind", type=click.Choice(["sending", "receiving"]))
def network_kind(organisation: str, kind: str) -> None:
    """Set ORGANISATION (id or exact name) as sending or receiving."""
    def change(session):
        org = network.organisation(session, organisation)
        network.set_kind(session, org, kind)
        return f"{org.name}: {kind}."
    _network_change(change)


@network_group.command("relate")
@click.argument("sender")
@click.argument("receiver")
def network_relate(sender: str, receiver: str) -> None:
    """SENDER may hand people over (and refer requests) to RECEIVER."""
    def change(session):
        a, b = network.organisation(session, sender), network.organisation(session, receiver)
        made = network.relate(session, a, b)
        return f"{a.name} -> {b.name}: " + ("related." if made else "already related.")
    _network_change(change)


@network_group.command("unrelate")
@click.argument("sender")
@click.argument("receiver")
def network_unrelate(sender: str, receiver: str) -> None:
    """No more new handovers from SENDER to RECEIVER (accepted ones stay)."""
    def change(session):
        a, b = network.organisation(session, sender), network.organisation(session, receiver)
        gone = network.unrelate(session, a, b)
        return f"{a.name} -> {b.name}: " + ("removed." if gone else "was not related.")
    _network_change(change)


@click.group("push", cls=AppGroup)
def push_group() -> None:
    """Web push (VAPID keys)."""


@push_group.command("generate-vapid")
@click.option("--force", is_flag=True, help="Replace an existing key.")
def generate_vapid(force: bool) -> None:
    """Write a VAPID private key to the instance folder and print the public key."""
    path = Path(current_app.instance_path) / "vapid_private.pem"
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; --force replaces it (every device "
                                   "must then subscribe again).")
    public = make_keys(path)
    click.echo(f"VAPID private key written to {path}")
    click.echo(f"VAPID_PUBLIC_KEY={public}")


@click.group("translate", cls=AppGroup)
def translate() -> None:
    """Message catalogs in webapp/i18n (Babel)."""


@translate.command("extract")
def extract() -> None:
    """Write messages.pot from the code and templates."""
    _extract(POT)


@translate.command("update")
def update() -> None:
    """Merge messages.pot into every catalog."""
    _run(["pybabel", "update", "-i", str(POT), "-d", str(I18N), "--no-fuzzy-matching",
          "--ignore-obsolete"])
    for path in write_derived(I18N):
        click.echo(f"writing {path.relative_to(ROOT)} (see webapp/cyrillic.py)")


@translate.command("init")
@click.argument("locale")
def init(locale: str) -> None:
    _run(["pybabel", "init", "-i", str(POT), "-d", str(I18N), "-l", locale])


@translate.command("compile")
def compile_() -> None:
    _run(["pybabel", "compile", "-d", str(I18N)])


@translate.command("check")
def check() -> None:
    """Fail when messages.pot is stale or a catalog is incomplete."""
    problems = catalog_problems(current_app.config["LANGUAGES"])
    for line in problems:
        click.echo(line, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} translation problem(s)")
    click.echo("catalogs complete")


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(push_group)
    app.cli.add_command(network_group)
    app.cli.add_command(translate)
    app.cli.add_command(delete_again_command)
    app.cli.add_command(reseal_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(demo_returnee_command)
    app.cli.add_command(create_organisation_command)


def _run(cmd: list[str], quiet: bool = False) -> None:
    # pybabel as this Python's Babel module: the installed package's `footing
    # translate compile` needs no pybabel script beside it or on PATH.
    assert cmd[0] == "pybabel"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *cmd[1:]], check=True,
                   cwd=ROOT, capture_output=quiet)


def _extract(target: Path, quiet: bool = False) -> None:
    # Run from the project root with a relative input, so the locations in the
    # catalogs are the same on every machine.
    _run(["pybabel", "-q", "extract", "-F", str(BABEL_CFG),
          "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2",
          "--add-comments=Translators:", "--sort-by-file", "--omit-header",
          "-o", str(target), "webapp"], quiet=quiet)


def _msgids(path: Path) -> set:
    with path.open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


def catalog_problems(languages: list[str]) -> list[str]:
    """What `translate check` and the test report: a stale template, or a
    catalog with missing, fuzzy or untranslated entries."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        _extract(fresh, quiet=True)
        if _msgids(fresh) != _msgids(POT):
            problems.append("messages.pot is stale: run `flask translate extract` and `update`")
        wanted = _msgids(fresh)
    for lang in languages:
        if lang == "en":
            continue
        po = I18N / lang / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            problems.append(f"{lang}: no catalog")
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        have = {m.id: m for m in catalog if m.id}
        for msgid in sorted(wanted, key=str):
            m = have.get(msgid)
            text = msgid if isinstance(msgid, str) else msgid[0]
            if m is None:
                problems.append(f"{lang}: missing {text!r}")
            elif m.fuzzy:
                problems.append(f"{lang}: fuzzy {text!r}")
            elif not (all(m.string) if isinstance(m.string, tuple) else m.string):
                problems.append(f"{lang}: untranslated {text!r}")
        if lang in DERIVED:
            made = derived_catalog(I18N / DERIVED[lang] / "LC_MESSAGES" / "messages.po", lang)
            if {m.id: m.string for m in made if m.id} != {m.id: m.string for m in catalog if m.id}:
                problems.append(f"{lang}: not the same as {DERIVED[lang]}: run `flask translate "
                                "update`")
    return problems
