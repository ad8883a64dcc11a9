"""A scripted participant: answers whatever page the server shows, as a person would."""

from surveyapp.questionnaires import Item, Page, Questionnaire


def answer_for(item: Item) -> dict[str, list[str]]:
    """Valid form data for one item."""
    if item.type == "matrix":
        return {row.id: [str(item.options[0].code)] for row in item.rows}
    if item.type in ("single_choice", "likert"):
        return {item.id: [str(item.options[-1].code)]}
    if item.type == "bipolar":
        return {item.id: ["2"]}
    if item.type == "multiple_choice":
        chosen = item.options[: min(2, item.max_choices or 2)]
        return {item.id: [str(option.code) for option in chosen]}
    if item.type == "number":
        low = item.min if item.min is not None else 1
        return {item.id: [str(int(low) if item.integer else low)]}
    if item.type == "short_text":
        return {item.id: ["North team"]}
    return {item.id: ["It helped me think about how I lead my team."]}


def page_data(page: Page) -> dict[str, list[str]]:
    data = {"page_id": [page.id]}
    for item in page.items:  # hidden items are ignored by the server
        data.update(answer_for(item))
    return data


def complete(client, token: str, questionnaire: Questionnaire, max_pages: int = 50):
    """Open the link, answer every page the server asks for, and send; return the last page."""
    response = client.get(f"/r/{token}")
    assert response.status_code == 303, response.text
    start = client.get("/r/")
    assert start.status_code == 200, start.text
    pages = {page.id: page for page in questionnaire.pages}
    url = None
    for _ in range(max_pages):
        location = client.get("/r/check-answers").location
        if location is None:
            break
        url = location
        page_id = url.rsplit("/", 1)[-1]
        posted = client.post(url, data=page_data(pages[page_id]))
        assert posted.status_code == 303, posted.text
    else:
        raise AssertionError(f"still answering after {max_pages} pages; last {url}")
    sent = client.post("/r/submit")
    assert sent.status_code == 303 and sent.location.endswith("/r/complete"), sent.text
    return client.get("/r/complete")
