"""A participant's whole journey in Chromium: answering, resuming, Back and reload, accessibility.

Pages are answered through the real inputs (labels clicked, text typed) and the
stored answers are then read back from the live app's database.
"""

from itertools import cycle
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from surveyapp import PROJECT_ROOT
from surveyapp.models import Answer, DraftAnswer, Response
from surveyapp.questionnaires import Item, Page, Questionnaire, load_all
from surveyapp.questionnaires.answers import read_page
from surveyapp.respond import flow
from tests.browser.conftest import wait_until
from tests.conftest import NOW
from tests.participant import page_data

pytestmark = pytest.mark.browser

SHIPPED = load_all(PROJECT_ROOT / "questionnaires").questionnaires
BASELINE = SHIPPED["peer_support_baseline"]
(AXE,) = (Path(__file__).parent / "vendor").glob("axe-core-*.min.js")
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],  # faster: passes and incomplete keep one node each
}
SETTLED = "document.activeElement?.matches('main h1, .govuk-error-summary') ?? false"


def _baseline_plan() -> dict[str, Any]:
    """What the participant chooses and types in peer_support_baseline, by answer id.

    A peer supporter (so the conditional page is shown), with an "other" choice
    and text on a single and a multiple choice, one optional text left blank,
    and every matrix row on a different point, "not applicable" included.
    """
    plan: dict[str, Any] = {
        "role": 2,
        "region": 8,
        "organisation_type": "other",
        "organisation_type_other": "Health and care trust",
        "current_post": 3,
        "months_in_post": 14,
        "previous_management_post": 1,
        "gender": 3,
        "age_band": 3,
        "ethnic_group": 4,
        "professional_background": 1,
        "years_as_manager": 7,
        "motivation": 5,
        "aims_clarity": 4,
        "how_joined": 2,
        "hoped_gains": [1, 3, "other"],
        "hoped_gains_other": "Confidence to challenge other agencies",
        "other_peer_support": 3,
        "expected_barriers": [2, 5],
        "worthwhile_if": "Time to think with managers who do the same job.",
        "ps_why_volunteered": "I like helping colleagues grow into their jobs.",
        "comments": None,  # optional, left blank
    }
    for item in BASELINE.items():
        if item.type == "matrix":
            codes = cycle(option.code for option in item.all_options())
            plan.update((row.id, next(codes)) for row in item.rows)
    return plan


PLAN = _baseline_plan()


def expected_answers(questionnaire: Questionnaire, plan: dict[str, Any]) -> dict[str, Any]:
    """The answers that must be stored: every shown answer id, blank (None) unless planned."""
    every = {aid: plan.get(aid) for item in questionnaire.items() for aid in item.answer_ids()}
    return questionnaire.relevant_answers(every)


def plan_of(page: Page) -> dict[str, Any]:
    """Valid answers for any page (tests.participant's choices), as typed values."""
    return read_page(page, page_data(page), {}).values


# -- driving the browser ------------------------------------------------------------------


class Participant:
    """One browser tab following a personal link, answering through the real inputs.

    ``errors`` collects uncaught JavaScript errors of the tab.
    """

    def __init__(self, context, link: str, questionnaire: Questionnaire, by_keyboard=False):
        self.questionnaire = questionnaire
        self.by_keyboard = by_keyboard
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(link)
        self.page.wait_for_url("**/r/")

    @property
    def page_id(self) -> str | None:
        """The questionnaire page shown, or None (start, check answers, confirmation)."""
        field = self.page.locator("input[name=page_id]")
        return field.get_attribute("value") if field.count() else None

    def click_and_wait(self, target=None, *, key: str | None = None) -> None:
        """Click ``target`` (or press ``key``) and wait for the next page, swapped or loaded."""
        page = self.page
        with_js = "js-enabled" in (page.locator("body").get_attribute("class") or "")
        page.locator("main").evaluate("main => main.setAttribute('data-stale', '')")
        if key:
            page.keyboard.press(key)
        else:
            target.click()
        page.locator("main:not([data-stale])").wait_for(state="attached")
        if with_js:  # app.js moves focus once htmx has settled the new page
            wait_until(page, SETTLED)

    def go_back(self) -> None:
        """Browser Back, then wait for whatever the page does about it to finish.

        With JavaScript on, htmx handles the history entry: it swaps in a copy
        from its cache, or reloads the page (refreshOnHistoryMiss).
        """
        page = self.page
        page.evaluate(
            """() => {
                window.beforeBack = true;
                document.body.addEventListener("htmx:historyRestore", () => {
                    window.restored = true;
                });
            }"""
        )
        page.go_back()
        wait_until(page, "!window.beforeBack || window.restored === true")
        page.wait_for_load_state()

    def start(self) -> None:
        """Press the start page's button (Start now, or Continue where you left off)."""
        self.click_and_wait(self.page.locator("main .govuk-button"))

    def press_continue(self) -> None:
        self.click_and_wait(self.page.get_by_role("button", name="Continue"))

    def choose(self, name: str, code: Any, *, toggles: bool = False) -> None:
        """Choose a radio, or a checkbox (``toggles``) not chosen yet.

        A mouse user clicks the label; with ``by_keyboard`` the box is focused and Space pressed.
        """
        selector = f"input[name='{name}'][value='{code}']"
        box = self.page.locator(selector)
        if toggles and box.is_checked():
            return
        if self.by_keyboard:
            box.focus()
            self.page.keyboard.press("Space")
        else:
            self.page.locator(f"{selector} + label").click()

    def enter(self, answer_id: str, value: Any, *, slowly: bool) -> None:
        box = self.page.locator(f"#{answer_id}")
        box.fill("")
        if value is None:
            return
        if slowly:
            box.press_sequentially(str(value))
        else:
            box.fill(str(value))

    def fill_item(self, item: Item, plan: dict[str, Any]) -> None:
        if item.type == "matrix":
            for row in item.rows:
                self.choose(row.id, plan[row.id])
            return
        value = plan.get(item.id)
        if item.type in ("single_choice", "likert", "bipolar"):
            if value is not None:
                self.choose(item.id, value)
        elif item.type == "multiple_choice":
            for code in value or []:
                self.choose(item.id, code, toggles=True)
        else:
            self.enter(item.id, value, slowly=item.type != "long_text")
        if item.other is not None and plan.get(item.other_id):
            self.enter(item.other_id, plan[item.other_id], slowly=False)

    def fill_page(self, plan: dict[str, Any]) -> None:
        """Answer the items shown on the current page as ``plan`` says."""
        for item in self.questionnaire.page(self.page_id).items:
            name = item.rows[0].id if item.type == "matrix" else item.id
            if self.page.locator(f"[name='{name}']").count():
                self.fill_item(item, plan)

    def mismatches(self, plan: dict[str, Any]) -> list[str]:
        """Where the page shown does not show the planned answers (all of them, when stored)."""
        wrong = []
        for item in self.questionnaire.page(self.page_id).items:
            for answer_id in item.answer_ids():
                value = plan.get(answer_id)
                if value is None:
                    continue
                if answer_id == item.other_id or item.type in ("number", "short_text", "long_text"):
                    ok = self.page.locator(f"#{answer_id}").input_value() == str(value)
                else:
                    codes = value if isinstance(value, list) else [value]
                    chosen = f"input[name='{answer_id}']:checked"
                    ok = self.page.eval_on_selector_all(
                        chosen, "boxes => boxes.map((box) => box.value)"
                    ) == [str(code) for code in codes]
                if not ok:
                    wrong.append(answer_id)
        return wrong

    def answer_all(self, plan: dict[str, Any], *, stop_after: int | None = None) -> list[str]:
        """Answer page after page until check answers (or ``stop_after`` pages); list them."""
        answered = []
        while (current := self.page_id) is not None and len(answered) != stop_after:
            self.fill_page(plan)
            self.press_continue()
            assert self.page_id != current, self.page.locator(".govuk-error-summary").inner_text()
            answered.append(current)
        return answered

    def send(self) -> None:
        page = self.page
        assert page.locator("h1").inner_text() == "Check your answers before sending them"
        self.click_and_wait(page.get_by_role("button", name="Send my answers"))
        page.wait_for_url("**/r/complete")
        assert page.locator("h1").inner_text() == "Thank you, your answers have been sent"


def stored(live_server) -> dict[str, Any]:
    """The one response's answers; no answer stored twice and no draft left behind."""
    with live_server.sessionmaker() as session:
        (response,) = session.scalars(select(Response)).all()
        rows = session.execute(
            select(Answer.answer_id, Answer.value).where(Answer.response_id == response.id)
        ).all()
        drafts = session.scalar(select(func.count()).select_from(DraftAnswer))
    ids = [answer_id for answer_id, _ in rows]
    assert len(ids) == len(set(ids)), "an answer was stored twice"
    assert drafts == 0
    return dict(rows)


def record_in_database(live_server, link: str, questionnaire: Questionnaire, pages: int) -> None:
    """Store valid answers to the first ``pages`` pages, as if the participant had sent them."""
    token = link.rsplit("/", 1)[-1]
    with live_server.sessionmaker() as session:
        invitation = flow.find_invitation(session, token)
        for definition in questionnaire.pages[:pages]:
            values = plan_of(definition)
            flow.record_answers(session, invitation, questionnaire, values, now=NOW)
        session.commit()


# -- journeys -----------------------------------------------------------------------------


@pytest.fixture
def new_context(browser):
    """Open browser contexts (separate cookie jars); all are closed after the test, pass or fail."""
    contexts = []

    def new(**options):
        contexts.append(browser.new_context(**options))
        return contexts[-1]

    yield new
    for context in contexts:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
def test_a_participant_answers_everything_and_each_answer_is_stored_once(
    new_context, live_server, javascript
):
    link = live_server.invite("peer_support_baseline")
    context = new_context(java_script_enabled=javascript)
    person = Participant(context, link, BASELINE)
    assert person.page.get_by_role("button", name="Start now").is_visible()
    person.start()

    answered = person.answer_all(PLAN)
    person.send()

    assert answered == ["part_a", "part_b", "part_c", "peer_supporter", "part_d", "anything_else"]
    assert stored(live_server) == expected_answers(BASELINE, PLAN)
    assert person.errors == []


def test_coming_back_in_a_new_browser_resumes_where_the_participant_left_off(
    new_context, live_server
):
    link = live_server.invite("peer_support_baseline")
    laptop = new_context()
    person = Participant(laptop, link, BASELINE)
    person.start()
    assert person.answer_all(PLAN, stop_after=3) == ["part_a", "part_b", "part_c"]
    laptop.close()

    phone = new_context()
    person = Participant(phone, link, BASELINE)
    page = person.page
    resume = page.get_by_role("button", name="Continue where you left off")
    assert resume.is_visible()
    person.click_and_wait(resume)
    assert person.page_id == "peer_supporter"
    page.wait_for_url("**/r/page/peer_supporter")

    person.click_and_wait(page.get_by_role("link", name="Back"))
    assert person.page_id == "part_c"
    assert person.mismatches(PLAN) == []
    assert page.locator("input[name=motivation]:checked").get_attribute("value") == "5"
    chosen = page.locator("input[name=hoped_gains]:checked")
    assert [chosen.nth(i).get_attribute("value") for i in range(chosen.count())] == [
        "1",
        "3",
        "other",
    ]
    assert page.locator("#hoped_gains_other").input_value() == PLAN["hoped_gains_other"]
    assert page.locator("#worthwhile_if").input_value() == PLAN["worthwhile_if"]

    person.press_continue()
    assert person.answer_all(PLAN) == ["peer_supporter", "part_d", "anything_else"]
    person.send()
    assert stored(live_server) == expected_answers(BASELINE, PLAN)
    assert person.errors == []


def _back_reload_and_carry_on(person: Participant) -> None:
    """Browser Back, then reload, then press on to the page the participant was on.

    The earlier page shows what was stored for it, before and after the reload.
    """
    person.go_back()
    if person.page_id is not None:
        assert person.mismatches(PLAN) == []
    person.page.reload()
    if person.page_id is None:  # back on the start page
        person.start()
    else:  # an earlier page, filled in again from what was stored
        assert person.mismatches(PLAN) == []
        person.press_continue()


def test_back_and_reload_on_every_page_keeps_each_answer_once(new_context, live_server):
    link = live_server.invite("peer_support_baseline")
    context = new_context()
    person = Participant(context, link, BASELINE)
    person.start()

    while (current := person.page_id) is not None:
        _back_reload_and_carry_on(person)
        assert person.page_id == current
        person.fill_page(PLAN)
        person.press_continue()
    _back_reload_and_carry_on(person)
    person.send()
    person.go_back()
    person.page.reload()  # sent: the old check answers address now shows the confirmation
    person.page.wait_for_url("**/r/complete")

    assert stored(live_server) == expected_answers(BASELINE, PLAN)
    assert person.errors == []


def test_the_first_page_can_be_answered_with_the_keyboard_alone(new_context, live_server):
    link = live_server.invite("peer_support_baseline")
    context = new_context()
    person = Participant(context, link, BASELINE)
    person.start()
    page = person.page
    assert page.evaluate("document.activeElement.matches('main h1')")  # app.js put focus there

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "role"
    page.keyboard.press("ArrowDown")  # moves to, and selects, the second choice
    assert page.locator("#role-2").is_checked()
    groups = {"role"}
    for _ in range(40):  # the other questions: arrow to a choice, type a number
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "({type: document.activeElement.type, name: document.activeElement.name,"
            " text: document.activeElement.textContent.trim()})"
        )
        if focused["type"] == "radio":
            assert focused["name"] not in groups, "Tab should move on to the next question"
            groups.add(focused["name"])
            page.keyboard.press("ArrowDown")
        elif focused["type"] == "text":
            page.keyboard.type("12")
        elif focused["text"] == "Continue":
            break
    else:
        raise AssertionError("Tab never reached the Continue button")
    person.click_and_wait(key="Enter")

    assert person.page_id == "part_b"
    assert groups == {item.id for item in BASELINE.pages[0].items if item.type != "number"}
    token = link.rsplit("/", 1)[-1]
    with live_server.sessionmaker() as session:
        answers = flow.answers_of(session, flow.find_invitation(session, token))
    assert answers["role"] == 2 and answers["region"] == 2 and answers["months_in_post"] == 12
    assert person.errors == []


# -- accessibility and layout -------------------------------------------------------------


def axe_violations(page, where: str) -> list[str]:
    """Run axe on the page shown; describe each serious or critical WCAG 2.1 A/AA failure."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async (options) => {
            const results = await axe.run(document, options);
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
                target: v.nodes[0].target.join(" "),
                why: v.nodes[0].failureSummary.split("\\n").slice(1).join(";").trim(),
            }));
        }""",
        AXE_OPTIONS,
    )
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']}: {v['target']}"
        + (f" (and {v['count'] - 1} more)" if v["count"] > 1 else "")
        + f" - {v['why']}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_every_page_of_every_questionnaire_passes_axe(new_context, live_server, key):
    questionnaire = SHIPPED[key]
    context = new_context(bypass_csp=True)
    person = Participant(context, live_server.invite(key), questionnaire, by_keyboard=True)
    page = person.page
    found = axe_violations(page, "start page")
    person.start()

    while (current := person.page_id) is not None:
        found += axe_violations(page, f"page {current}")
        person.press_continue()  # sent empty: required questions show their errors
        if person.page_id == current:
            assert page.locator(".govuk-error-summary").is_visible()
            found += axe_violations(page, f"page {current} with errors")
            plan = plan_of(questionnaire.page(current))
            for _ in range(3):  # an answer may reveal more questions on the same page
                person.fill_page(plan)
                person.press_continue()
                if person.page_id != current:
                    break
    found += axe_violations(page, "check answers")
    person.send()
    found += axe_violations(page, "confirmation")

    assert not found, "axe found serious or critical problems:\n" + "\n".join(found)
    assert person.errors == []


REFLOW = {
    "320px-wide": {"viewport": {"width": 320, "height": 640}},
    "200%-zoom": {"viewport": {"width": 640, "height": 400}, "device_scale_factor": 2},
}


@pytest.mark.parametrize("screen", sorted(REFLOW))
@pytest.mark.parametrize(
    ("key", "kind"),
    [("leadership_culture", "bipolar"), ("peer_support_baseline", "matrix")],
    ids=["culture", "matrix"],
)
def test_narrow_and_zoomed_screens_need_no_sideways_scrolling(
    new_context, live_server, screen, key, kind
):
    questionnaire = SHIPPED[key]
    link = live_server.invite(key)
    record_in_database(live_server, link, questionnaire, pages=1)
    context = new_context(**REFLOW[screen])
    person = Participant(context, link, questionnaire)
    person.start()  # Continue where you left off: the second page
    shown = questionnaire.page(person.page_id)
    assert any(item.type == kind for item in shown.items)

    for state in ("as shown", "with errors"):
        if state == "with errors":
            person.press_continue()
            assert person.page.locator(".govuk-error-summary").is_visible()
        overflow = person.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{shown.id} {state} at {screen} scrolls sideways by {overflow}px"
