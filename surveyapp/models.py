"""Records and their constraints. Workflows live in the domain packages."""

from datetime import date, datetime

from sqlalchemy import DDL, JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from surveyapp.db import Base

ROLES = ("admin", "programme_manager", "evaluator", "viewer")


class User(Base):
    """A member of the study team who signs in to the admin side."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'programme_manager', 'evaluator', 'viewer')", name="role_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased, so sign-in is not case-sensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    #: argon2id hash, never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Part of every session of this account; signing out adds one, which ends them all,
    #: even a copy of the cookie kept somewhere.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]
    last_signed_in_at: Mapped[datetime | None]


STAFF_ROLES = ("programme_manager", "evaluator", "viewer")


class ProgrammeMember(Base):
    """A staff user who may see one programme; administrators see every programme."""

    __tablename__ = "programme_members"

    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuditEvent(Base):
    """One change a staff user (or a scheduled command) made: append-only.

    Who, when, what and which objects; never answers, tokens or passwords.
    The database refuses to update or delete a row (a trigger on each engine).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    #: NULL for a command run from cron; the email is kept as it was at the time.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(320))
    #: A dotted name from ``surveyapp.audit.ACTIONS``, e.g. "cohort.import".
    action: Mapped[str] = mapped_column(String(60), index=True)
    summary: Mapped[str] = mapped_column(Text)
    programme_id: Mapped[int | None] = mapped_column(index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    #: The requester's address for sign-in events; empty for commands.
    address: Mapped[str] = mapped_column(String(64), default="")


APPEND_ONLY_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_events_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()",
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": ["DROP FUNCTION IF EXISTS audit_events_refuse() CASCADE"],
}
for _dialect, _statements in APPEND_ONLY_TRIGGERS.items():
    for _statement in _statements:
        event.listen(
            AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )
for _dialect, _statements in DROP_APPEND_ONLY.items():
    for _statement in _statements:
        event.listen(
            AuditEvent.__table__, "after_drop", DDL(_statement).execute_if(dialect=_dialect)
        )


class QuestionnaireVersion(Base):
    """The exact text of a questionnaire file as it was loaded, once per change.

    Answers point at the version they answered, so a file edited later never
    changes what an old answer meant.
    """

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_key", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_key: Mapped[str] = mapped_column(String(100), index=True)
    #: 1, 2, 3 … per questionnaire key, in the order the versions were loaded.
    number: Mapped[int]
    #: sha256 of the file's bytes.
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    source_text: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime]
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    loaded_by: Mapped[User | None] = relationship()


PRIVACY_MODES = ("identified", "anonymous")


class Programme(Base):
    """A programme being evaluated, with its cohort of participants and its waves."""

    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("reporting_threshold BETWEEN 3 AND 1000", name="threshold_at_least_3"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: Who runs the evaluation, as participants should read it on the start page.
    run_by: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Groups with fewer respondents are hidden from evaluators (never below 3).
    reporting_threshold: Mapped[int] = mapped_column(default=5, server_default="5")
    #: After this day, participants' contact details are removed (``flask retention apply``).
    contact_retention_until: Mapped[date | None]
    created_at: Mapped[datetime]

    participants: Mapped[list["Participant"]] = relationship(back_populates="programme")
    waves: Mapped[list["Wave"]] = relationship(back_populates="programme", order_by="Wave.opens_at")


class Participant(Base):
    """A member of a programme's cohort. Contact details live only here."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("programme_id", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    #: The programme's own ID number for the person: the key of every export.
    id_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    team: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(200), default="")
    #: Further columns of the cohort file, by their heading.
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    withdrawn_at: Mapped[datetime | None]
    #: When name, email and further columns were removed (retention date passed, or erasure).
    contact_removed_at: Mapped[datetime | None]
    #: When the person's identified answers were erased at their request.
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    programme: Mapped[Programme] = relationship(back_populates="participants")
    invitations: Mapped[list["Invitation"]] = relationship(back_populates="participant")

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def has_contact_details(self) -> bool:
        return self.contact_removed_at is None


class Wave(Base):
    """One questionnaire version sent to some of a programme's cohort between two dates."""

    __tablename__ = "waves"
    __table_args__ = (
        CheckConstraint("privacy IN ('identified', 'anonymous')", name="privacy_known"),
        CheckConstraint("target_rate BETWEEN 1 AND 100", name="target_rate_percent"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    label: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    #: Percentage of invited people whose completion counts as a good response.
    target_rate: Mapped[int] = mapped_column(default=60)
    #: "identified": answers linked to the person; "anonymous": only completion is known.
    privacy: Mapped[str] = mapped_column(String(20))
    #: Who was invited, as chosen: {"role": [...], "team": [...], "region": [...]}.
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]

    programme: Mapped[Programme] = relationship(back_populates="waves")
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    invitations: Mapped[list["Invitation"]] = relationship(back_populates="wave")

    @property
    def is_anonymous(self) -> bool:
        return self.privacy == "anonymous"


class Invitation(Base):
    """One person's place in one wave, reached through a personal link."""

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("wave_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    #: secrets.token_urlsafe(16): 128 random bits; the only way in for the participant.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    #: Pages done of pages shown, kept for reminders ("you have done 3 of 5 pages").
    pages_done: Mapped[int] = mapped_column(default=0)
    pages_total: Mapped[int] = mapped_column(default=0)
    #: Set when the person asked for no more reminders about this wave; they can still answer.
    opted_out_at: Mapped[datetime | None]

    wave: Mapped[Wave] = relationship(back_populates="invitations")
    participant: Mapped[Participant] = relationship(back_populates="invitations")
    drafts: Mapped[list["DraftAnswer"]] = relationship(
        back_populates="invitation", cascade="all, delete-orphan"
    )

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None


class DraftAnswer(Base):
    """An answer in progress, held against the invitation so the person can resume."""

    __tablename__ = "draft_answers"
    __table_args__ = (UniqueConstraint("invitation_id", "answer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    #: An item id, a matrix row id, or "<item id>_other".
    answer_id: Mapped[str] = mapped_column(String(100))
    value: Mapped[object | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]

    invitation: Mapped[Invitation] = relationship(back_populates="drafts")


class Response(Base):
    """A submitted set of answers.

    Identified waves keep the participant. Anonymous waves keep only team,
    organisation, region and role: the key is random, there is no timestamp
    (the wave dates it), and nothing points back at the invitation.
    """

    __tablename__ = "responses"

    #: Random (uuid4 hex), so the key carries no order of submission.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    #: NULL in anonymous waves.
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    team: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(200), default="")

    answers: Mapped[list["Answer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )
    participant: Mapped[Participant | None] = relationship()


class Answer(Base):
    """One answer of a submitted response; keyed by response and answer id, no sequence."""

    __tablename__ = "answers"

    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    answer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[object | None] = mapped_column(JSON)

    response: Mapped[Response] = relationship(back_populates="answers")


MESSAGE_STATES = ("queued", "sending", "sent", "failed", "cancelled")
STEP_AUDIENCES = ("everyone", "not_opened", "started", "not_completed")


class EmailTemplate(Base):
    """An invitation or reminder email of one wave, written as a sandboxed Jinja text."""

    __tablename__ = "email_templates"
    __table_args__ = (UniqueConstraint("wave_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]

    wave: Mapped[Wave] = relationship()


class ReminderStep(Base):
    """One step of a wave's plan: when, to whom, with which template."""

    __tablename__ = "reminder_steps"
    __table_args__ = (
        CheckConstraint(
            "audience IN ('everyone', 'not_opened', 'started', 'not_completed')",
            name="audience_known",
        ),
        CheckConstraint(
            "(send_on IS NULL) <> (days_after_opening IS NULL)", name="one_way_to_say_when"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))
    #: A fixed UTC time to send, or a number of days after the wave opens (one of the two).
    send_on: Mapped[datetime | None]
    days_after_opening: Mapped[int | None]
    audience: Mapped[str] = mapped_column(String(20))
    template_id: Mapped[int] = mapped_column(ForeignKey("email_templates.id"))
    #: For a final, personalised step: the deadline given, in working days after sending.
    deadline_working_days: Mapped[int | None]

    wave: Mapped[Wave] = relationship()
    template: Mapped[EmailTemplate] = relationship()


class Message(Base):
    """One email to one person for one step: the outbox row and its delivery state.

    The unique (step, invitation) pair is what makes a second sender, a
    restarted sender or a retry unable to send anyone the same step twice.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("step_id", "invitation_id"),
        CheckConstraint(
            "state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')", name="state_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("reminder_steps.id"))
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    #: The mail server's answer to the last failed attempt, or why it was cancelled.
    last_error: Mapped[str] = mapped_column(Text, default="")
    queued_at: Mapped[datetime]
    #: When the current sender took it; a "sending" row older than the lease is taken again.
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    #: "smtp" when a mail server accepted it, "outbox" when kept in the app (no SMTP set up).
    transport: Mapped[str] = mapped_column(String(10), default="")

    step: Mapped[ReminderStep] = relationship()
    invitation: Mapped[Invitation] = relationship()
