"""Command-line groups: ``flask questionnaires``, ``users``, ``reminders``, ``exports``,
``retention``, ``db`` and ``demo``.

Commands that change something write it to the audit log as "command line".
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from surveyapp.audit import operations as audit
from surveyapp.models import ROLES, Programme
from surveyapp.questionnaires import LoadResult, catalogue, load_file, questionnaire_files
from surveyapp.staff import access
from surveyapp.staff import operations as accounts

questionnaires_cli = AppGroup("questionnaires", help="Check and load questionnaire files.")
users_cli = AppGroup("users", help="Manage staff accounts.")
db_cli = AppGroup("db", help="Create or upgrade the database.")
reminders_cli = AppGroup("reminders", help="Send invitations and reminders that are due.")
exports_cli = AppGroup("exports", help="Write a wave's answers to a file for analysis.")
retention_cli = AppGroup(
    "retention", help="Remove contact details after each programme's retention date."
)

#: Who the audit log names for a command: there is no signed-in user.
COMMAND_LINE = "command line"


def init_app(app: Flask) -> None:
    # Adds ``exports pack`` and ``exports reports`` to the exports group.
    from surveyapp.packs import cli as _pack_cli  # noqa: F401
    from surveyapp.reports import cli as _reports_cli  # noqa: F401

    app.cli.add_command(questionnaires_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(exports_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(demo)


def _session():
    return current_app.extensions["surveyapp.sessionmaker"]()


def _now():
    return current_app.config["CLOCK"]()


def _fail(message: str, code: int = 1):
    click.echo(message, err=True)
    sys.exit(code)


def _no_tables(exc: Exception):
    _fail(
        "The database has no tables yet, or is out of date. Run `flask --app surveyapp db "
        f"upgrade` first.\n({type(exc).__name__})"
    )


# -- questionnaires ----------------------------------------------------------------------


@questionnaires_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def questionnaires_check(paths: tuple[Path, ...]) -> None:
    """Check questionnaire files and list every problem in every file.

    PATHS may be files or folders; the default is the questionnaire folder.
    Exits with 1 when any file has an error; warnings alone exit with 0.
    """
    paths = paths or (Path(current_app.config["QUESTIONNAIRE_DIR"]),)
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        _fail(f"No such file or folder: {', '.join(missing)}", code=2)
    files = questionnaire_files(paths)
    if not files:
        _fail(f"No questionnaire files (*.yaml) in {', '.join(map(str, paths))}.", code=2)
    results = [load_file(path, display_name=_display(path)) for path in files]
    for result in results:
        _echo_result(result)
    errors = sum(len(result.errors) for result in results)
    warnings = sum(len(result.warnings) for result in results)
    broken = sum(1 for result in results if result.errors)
    click.echo(
        f"\n{len(results)} file(s) checked: {len(results) - broken} ready, {broken} with errors. "
        f"{errors} error(s), {warnings} warning(s)."
    )
    sys.exit(1 if errors else 0)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _echo_result(result: LoadResult) -> None:
    name = result.problems[0].file if result.problems else _display(result.path)
    if result.questionnaire is not None:
        title = result.questionnaire.title
        note = f", {len(result.warnings)} warning(s)" if result.warnings else ""
        click.echo(f"OK     {name}: {title}{note}")
    else:
        click.echo(f"ERRORS {name}: {len(result.errors)} error(s)")
    for problem in result.problems:
        click.echo(f"  {problem}")


@questionnaires_cli.command("load")
def questionnaires_load() -> None:
    """Store a new version of every questionnaire file that changed since it was last loaded."""
    from surveyapp.questionnaires import load_all

    loaded = load_all(Path(current_app.config["QUESTIONNAIRE_DIR"]))
    with _session() as session:
        try:
            stored = catalogue.store_versions(session, loaded, now=_now())
            for item in stored:
                if item.is_new:
                    audit.record(
                        session,
                        action="questionnaire.load",
                        summary=f"{item.key} version {item.version.number} loaded",
                        actor_label=COMMAND_LINE,
                        object_type="questionnaire version",
                        object_id=item.version.id,
                        now=_now(),
                    )
            session.commit()
        except (OperationalError, ProgrammingError) as exc:
            _no_tables(exc)
    for item in stored:
        state = "new version" if item.is_new else "unchanged, version"
        click.echo(f"{item.key}: {state} {item.version.number}")
    for result in loaded.results:
        if result.questionnaire is None:
            click.echo(f"{result.path.name}: not loaded, it has {len(result.errors)} error(s)")


@questionnaires_cli.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--key", "keys", multiple=True, help="Only this questionnaire (may be repeated).")
def questionnaires_export(folder: Path, keys: tuple[str, ...]) -> None:
    """Write the newest stored version of each questionnaire to FOLDER as KEY.yaml.

    The files are exactly as stored, so FOLDER can be checked, loaded and kept in
    version control. A file already holding that text is left alone.
    """
    with _session() as session:
        try:
            written = catalogue.export_versions(session, folder, keys)
        except KeyError as exc:
            _fail(f"No stored version of: {exc.args[0]}", code=2)
        except (OperationalError, ProgrammingError) as exc:
            _no_tables(exc)
    for version, changed in written:
        state = "written" if changed else "unchanged"
        click.echo(
            f"{folder / (version.questionnaire_key + '.yaml')}: version {version.number}, {state}"
        )
    if not written:
        click.echo("No questionnaire version is stored yet.")


# -- users -------------------------------------------------------------------------------


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True)
@click.password_option(help="Asked for when not given.")
def users_create(email: str, role: str, password: str) -> None:
    """Create a staff account with a role."""
    with _session() as session:
        try:
            user = accounts.create_user(
                session, email=email, password=password, role=role, now=_now()
            )
            audit.record(
                session,
                action="user.create",
                summary=f"Created {user.email} as {access.ROLE_NAMES[user.role]}",
                actor_label=COMMAND_LINE,
                object_type="user",
                object_id=user.id,
                now=_now(),
            )
            session.commit()
        except accounts.AccountProblem as exc:
            _fail(str(exc))
        except (OperationalError, ProgrammingError) as exc:
            _no_tables(exc)
        click.echo(f"Created {user.email} ({user.role}).")


@users_cli.command("list")
def users_list() -> None:
    """List staff accounts."""
    from sqlalchemy import select

    from surveyapp.models import User

    with _session() as session:
        for user in session.scalars(select(User).order_by(User.email)):
            state = "" if user.is_active else " (disabled)"
            click.echo(f"{user.email}\t{user.role}{state}")


# -- reminders --------------------------------------------------------------------------


@reminders_cli.command("send")
@click.option("--dry-run", is_flag=True, help="Say who would get what; send and store nothing.")
def reminders_send(dry_run: bool) -> None:
    """Make the evaluation wave of each session that is due, queue every invitation and
    reminder that is due, then send the outbox.

    Safe to run from cron every few minutes, and on several machines: a session gets one
    wave and a person never gets the same step twice.
    """
    from surveyapp.mail import mailer_from_config
    from surveyapp.reminders import sending

    config = current_app.config
    settings = sending.settings_from_config(config)
    _make_session_waves(dry_run)
    with _session() as session:
        if dry_run:
            for step in sending.due_steps(session, _now()):
                people = sending.recipients(session, step)
                click.echo(f"{step.wave.label}: {step.label}: {len(people)} person(s) due")
            return
        queued = sending.queue_due(session, now=_now(), settings=settings)
        session.commit()
    try:
        mailer = mailer_from_config(config)
    except ValueError as problem:
        _fail(str(problem))
    report = sending.deliver(
        current_app.extensions["surveyapp.sessionmaker"], mailer, clock=_now, settings=settings
    )
    where = "sent by SMTP" if mailer.transport == "smtp" else "kept in the outbox (no SMTP set up)"
    if queued or report.sent or report.failed or report.cancelled or report.unsure:
        held = f", paused until {report.paused_until:%H:%M} UTC" if report.paused_until else ""
        with _session() as session:
            audit.record(
                session,
                action="reminders.send",
                summary=f"Reminders run: {queued} message(s) queued, {report.sent} {where}, "
                f"{report.failed} failed, {report.cancelled} cancelled, "
                f"{report.unsure} may have been sent{held}",
                actor_label=COMMAND_LINE,
                now=_now(),
            )
            session.commit()
    click.echo(
        f"{queued} message(s) queued; {report.sent} {where}, {report.failed} failed, "
        f"{report.cancelled} cancelled."
    )
    if report.unsure:
        click.echo(
            f"{report.unsure} may have been sent (the connection was lost before the mail "
            "server answered): not sent again; decide on the outbox page.",
            err=True,
        )
    if report.paused_until is not None:
        click.echo(
            f"Sending paused until {report.paused_until:%H:%M:%S} UTC: the mail server "
            f"answered “{report.paused_because}”. The rest wait, with no attempt counted.",
            err=True,
        )
    for error in report.errors[:20]:
        click.echo(f"  failed: {error}", err=True)


def _make_session_waves(dry_run: bool) -> None:
    """Make the wave of each session whose evaluation is due (see ``evaluations.operations``)."""
    from surveyapp.evaluations import operations as evaluation

    zone = current_app.config["STUDY_TIMEZONE"]
    with _session() as session:
        report = evaluation.make_due_waves(session, now=_now(), zone=zone)
        for wave in report.made:
            click.echo(
                f"{'Would make' if dry_run else 'Made'} “{wave.label}” "
                f"({len(wave.invitations)} invited)"
            )
            if not dry_run:
                audit.record(
                    session,
                    action="wave.create",
                    summary=f"Wave “{wave.label}” made for its session ({wave.privacy}, "
                    f"{len(wave.invitations)} invited)",
                    actor_label=COMMAND_LINE,
                    programme_id=wave.programme_id,
                    object_type="wave",
                    object_id=wave.id,
                    now=_now(),
                )
        for waiting in report.waiting:
            click.echo(
                f"Waiting for the register of “{waiting.kind_name}” {waiting.group} "
                "before its evaluation is made".replace("  ", " ")
            )
        if report.invited_late:
            click.echo(f"{report.invited_late} person(s) ticked late invited to their evaluation")
        for problem in report.problems:
            click.echo(problem, err=True)
        if dry_run:
            session.rollback()
        else:
            session.commit()


# -- retention ---------------------------------------------------------------------------


@retention_cli.command("apply")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
def retention_apply(dry_run: bool) -> None:
    """Remove names, emails and further columns in every programme past its retention date.

    ID numbers, teams and answers are kept; emails not yet sent are cancelled. Run it
    from cron once a day: a second run finds nothing left to do.
    """
    from surveyapp.privacy import retention

    zone = current_app.config["STUDY_TIMEZONE"]
    today = retention.study_today(_now(), zone)
    with _session() as session:
        try:
            outcomes = retention.apply_retention(
                session, now=_now(), zone=zone, dry_run=dry_run, actor_label=COMMAND_LINE
            )
        except (OperationalError, ProgrammingError) as exc:
            _no_tables(exc)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if not dry_run:
        from surveyapp.exports import jobs

        expired = jobs.store_for(current_app.config, current_app.instance_path).remove_expired(
            _now()
        )
        if expired:
            click.echo(f"Removed {expired} background export file(s) older than an hour.")
    verb = "would remove" if dry_run else "removed"
    for outcome in outcomes:
        until = outcome.retention_until
        click.echo(
            f"{outcome.programme} (retention date {until.day} {until:%B %Y}): {verb} the contact "
            f"details of {outcome.people} participant(s); {outcome.messages_blanked} email(s) "
            f"blanked, {outcome.messages_cancelled} unsent email(s) cancelled."
        )
    people = sum(outcome.people for outcome in outcomes)
    if not outcomes:
        click.echo(
            f"Nothing to do on {today.day} {today:%B %Y}: no programme past its retention date "
            "holds contact details."
        )
    elif dry_run:
        click.echo(
            f"Dry run: {len(outcomes)} programme(s), {people} participant(s). Nothing was changed."
        )
    else:
        click.echo(
            f"Done: contact details of {people} participant(s) removed in {len(outcomes)} "
            "programme(s)."
        )


# -- exports ----------------------------------------------------------------------------


@exports_cli.command("write")
@click.argument("wave_id", type=int)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "xlsx", "sav"]),
    default="csv",
    show_default=True,
)
@click.option(
    "--layout", type=click.Choice(["wide", "long", "codebook"]), default="wide", show_default=True
)
@click.option("--out", type=click.Path(path_type=Path), help="File to write; default: its name.")
@click.option(
    "--full",
    is_flag=True,
    help="Every group in full, not suppressed: for the study team, never for sharing.",
)
@click.option(
    "--threshold",
    type=click.IntRange(min=3),
    help="Groups with fewer respondents are pooled (suppressed exports only). The default is "
    "the programme's reporting threshold; a higher number may be given, never a lower one.",
)
def exports_write(
    wave_id: int, file_format: str, layout: str, out: Path | None, full: bool, threshold: int | None
) -> None:
    """Write one wave's answers as CSV, Excel or SPSS, keyed by ID number, names never included."""
    import time

    from surveyapp import exports
    from surveyapp.exports.progress import describe
    from surveyapp.models import Wave

    with _session() as session:
        wave = session.get(Wave, wave_id)
        if wave is None:
            _fail(f"There is no wave {wave_id}. `flask --app surveyapp exports list` shows them.")
        threshold = _export_threshold(wave.programme, threshold)
        started = time.perf_counter()
        click.echo(
            f"Exporting “{wave.label}” ({len(wave.invitations)} invited) as {file_format}…",
            err=True,
        )
        shown = {"stage": "", "percent": -100}

        def progress(stage: str, fraction: float) -> None:
            # A line per stage and per tenth of it: "Loading answers… 40%".
            percent = int(fraction * 100)
            finished = percent == 100 and shown["percent"] < 100
            if stage == shown["stage"] and not finished and percent < shown["percent"] + 10:
                return
            shown.update(stage=stage, percent=percent)
            click.echo(describe(stage, fraction), err=True)

        try:
            exported = exports.export_wave(
                session,
                wave,
                file_format=file_format,
                layout=layout,
                for_evaluator=not full,
                threshold=threshold,
                progress=progress,
            )
        except (exports.ExportTooLarge, ValueError) as problem:
            _fail(str(problem))
        audit.record(
            session,
            action="export.download",
            summary=f"“{wave.label}” exported from the command line as {file_format}, {layout}, "
            + ("full data" if full else "small groups hidden"),
            actor_label=COMMAND_LINE,
            programme_id=wave.programme_id,
            object_type="wave",
            object_id=wave.id,
            now=_now(),
        )
        session.commit()
    target = out or Path(exported.filename)
    target.write_bytes(exported.content)
    seconds = time.perf_counter() - started
    kind = "full (not suppressed)" if full else f"suppressed below {threshold}"
    click.echo(f"Wrote {target} ({len(exported.content):,} bytes, {kind}) in {seconds:.1f} s.")


def _export_threshold(programme: Programme, asked: int | None) -> int:
    """The programme's reporting threshold, or a higher one asked for; never a lower one."""
    own = programme.reporting_threshold
    if asked is None:
        return own
    if asked < own:
        _fail(
            f"--threshold {asked} is lower than the reporting threshold of “{programme.name}”, "
            f"which is {own}. Give {own} or more, or leave --threshold out to use {own}."
        )
    return asked


@exports_cli.command("list")
def exports_list() -> None:
    """List the waves that can be exported, with their numbers."""
    from sqlalchemy import select

    from surveyapp.models import Wave

    with _session() as session:
        for wave in session.scalars(select(Wave).order_by(Wave.id)):
            click.echo(f"{wave.id}\t{wave.programme.name}: {wave.label} ({wave.privacy})")


# -- database ----------------------------------------------------------------------------


def alembic_config(url: str):
    from alembic.config import Config

    from surveyapp import PROJECT_ROOT

    config = Config(toml_file=str(PROJECT_ROOT / "pyproject.toml"))
    config.attributes["database_url"] = url
    return config


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Bring the database up to the newest schema (the same as `alembic upgrade head`)."""
    from alembic import command

    command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), "head")
    click.echo("The database is up to date.")


# -- demo --------------------------------------------------------------------------------

DEMO_EMAIL = "admin@example.org"
#: Further demo accounts, with the same password, to see what each role sees.
DEMO_ROLES = {
    "evaluator@example.org": "evaluator",
    "viewer@example.org": "viewer",
    "facilitator@example.org": "facilitator",
}


@click.command("demo")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", default=5000, show_default=True, help="0 takes a free port; links use the port taken."
)
@click.option("--no-serve", is_flag=True, help="Prepare the demo data, then stop.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Prepare the database with demo data and start the app on this computer.

    Links in the demo's emails and the links it prints point at the address it serves
    (SURVEYAPP_BASE_URL is set to it while the demo runs).
    """
    from alembic import command
    from werkzeug.serving import make_server

    from surveyapp.auth import two_step
    from surveyapp.demo import build_demo, served_address
    from surveyapp.demo_als import build_als_demo
    from surveyapp.questionnaires import load_all

    app = current_app._get_current_object()
    server = None
    if not no_serve:
        # Listen first, so that the links are written for the port actually taken.
        try:
            server = make_server(host, port, app, threaded=True)
        except OSError as exc:
            _fail(f"Cannot serve on {host}:{port} ({exc.strerror}). Choose another --port.")
        port = server.server_port
    base = served_address(host, port)
    app.config["BASE_URL"] = base
    command.upgrade(alembic_config(app.config["DATABASE_URL"]), "head")
    password = secrets.token_urlsafe(12)
    key, recovery = "(not needed)", ["(not needed)"]
    with _session() as session:
        catalogue.store_versions(
            session, load_all(Path(app.config["QUESTIONNAIRE_DIR"])), now=_now()
        )
        links = build_demo(session, now=_now(), base_url=base)
        links += build_als_demo(session, now=_now(), base_url=base)
        programmes = set(session.scalars(select(Programme.id)))
        for email, role in {DEMO_EMAIL: "admin", **DEMO_ROLES}.items():
            user = accounts.find_user(session, email)
            if user is None:
                user = accounts.create_user(
                    session, email=email, password=password, role=role, now=_now()
                )
            else:
                accounts.set_password(session, user, password)
            if role != "admin":
                access.set_membership(session, user, programmes)
            if email == DEMO_EMAIL and two_step.is_required(user, app.config["REQUIRE_TWO_STEP"]):
                # An administrator must use two-step verification: the demo sets it up, so
                # it can be tried with an authenticator app or a recovery code.
                key = two_step.grouped(two_step.start_enrolment(session, user))
                user.two_step_enrolled_at = _now()
                recovery = two_step.new_recovery_codes(session, user, _now())[:3]
        session.commit()
    click.echo(
        "\nsurveyapp demo is ready.\n"
        f"  Open:      {base}/admin/\n"
        f"  Email:     {DEMO_EMAIL}\n"
        f"  Password:  {password}   (a new one each time the demo starts)\n"
        f"  Two-step:  the key for an authenticator app: {key}\n"
        f"             or a recovery code: {', '.join(recovery)}\n"
        f"  Also:      {', '.join(DEMO_ROLES)},\n"
        "             same password, to see what an evaluator, a viewer and a\n"
        "             facilitator (who keeps registers) see\n"
        f"  Database:  {app.config['DATABASE_URL']}\n\n"
        "Answer as a participant (fictional people) with these personal links:"
    )
    width = max((len(link.wave) for link in links), default=0)
    for link in links:
        click.echo(f"  {link.wave:<{width}}  {link.name:<24} {base}/r/{link.token}")
    if not links:
        click.echo("  (none: every demo person has started or answered; see a wave's page)")
    click.echo("")
    if server is not None:
        # app.run() refuses to start inside a flask command; the server under it does not.
        server.log_startup()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
