"""Value evidence and the value board; impact stories from draft to publication; consent throughout."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import clock
from app.audit import AuditEvent
from app.db import db
from app.errors import Conflict, DomainError
from app.evaluation import feedback, impact
from app.evaluation.models import ImpactStory
from app.notifications.models import OutboxMessage
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_facilitator, make_participant, make_team

SPINE = dict(once_upon_a_time="We met rarely.", every_day="People worked alone.", one_day="We tried a new format.",
             because_of_that=["More people came.", "They brought colleagues."], until_finally="It runs itself.")


def story(cohort, person, *, consent=True, submit=True, **changes) -> ImpactStory:
    draft = impact.StoryDraft(**{"title": "From alone to together", **SPINE, "cycles": ["applied"],
                                 "consent_to_publish": consent, **changes})
    return impact.save_story(actor=person, cohort=cohort, draft=draft, story=None, submit=submit, now=clock.now())


def test_the_value_board_shows_shared_evidence_and_keeps_the_rest_private(frozen_now):
    cohort = make_cohort()
    author, peer, team = make_participant(cohort), make_participant(cohort), make_team()
    impact.add_evidence(actor=author, cohort=cohort, kind="quote", text="Shared words", cycles=["immediate"],
                        consent=True)
    impact.add_evidence(actor=author, cohort=cohort, kind="reflection", text="Private words",
                        cycles=["reframing", "applied"], consent=False)
    session = [s for s in cohort.sessions if s.ends_at < clock.now()][-1]
    feedback.give_feedback(actor=peer, session=session, now=session.ends_at, answers=feedback.Answers(
        worthwhile=5, recommend_yes=True, quote="Unconsented feedback quote", value_cycles=["potential"]))

    def texts(viewer, cycle):
        return [item.text for item in impact.value_board(cohort, viewer=viewer).columns[cycle]]

    assert texts(team, "reframing") == ["Private words"] and texts(team, "potential") == ["Unconsented feedback quote"]
    assert texts(author, "reframing") == ["Private words"]          # their own
    assert texts(peer, "reframing") == [] and texts(peer, "immediate") == ["Shared words"]
    assert texts(peer, "potential") == []                           # no consent, so not even its author sees it here
    assert texts(make_facilitator(), "applied") == []
    assert impact.value_board(cohort, viewer=team).count("applied") == 1

    with pytest.raises(DomainError, match="at least one kind of value"):
        impact.add_evidence(actor=author, cohort=cohort, kind="quote", text="x", cycles=["made-up"], consent=True)
    with pytest.raises(DomainError, match="Only participants of this cohort"):
        impact.add_evidence(actor=make_participant(make_cohort()), cohort=cohort, kind="quote", text="x",
                            cycles=["immediate"], consent=True)


def test_the_board_form_keeps_what_was_typed(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    cohort_id = cohort.id
    login_as(person)
    token = csrf_token(client, f"/cohorts/{cohort_id}/value")
    refused = client.post(f"/cohorts/{cohort_id}/value", data={"csrf_token": token, "kind": "change",
                                                               "text": "We changed the rota"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Choose at least one kind of value" in body and "We changed the rota" in body
    assert client.post(f"/cohorts/{cohort_id}/value", data={"csrf_token": token, "kind": "change",
                                                            "text": "We changed the rota", "cycles": ["realised"],
                                                            "consent": "y"}).status_code == 302
    assert "We changed the rota" in client.get(f"/cohorts/{cohort_id}/value").get_data(as_text=True)


def test_a_story_goes_from_draft_to_review_to_publication_only_with_consent(client, login_as, frozen_now):
    cohort = make_cohort()
    author, peer, team = make_participant(cohort, name="Story Author"), make_participant(cohort), make_team()
    db.session.commit()
    with pytest.raises(DomainError, match="Until finally"):
        story(cohort, author, until_finally="")
    db.session.rollback()
    draft = story(cohort, author, submit=False)
    assert draft.status == "draft"
    assert draft not in impact.stories_of(cohort, viewer=team)      # the team sees stories once sent
    assert draft not in impact.stories_of(cohort, viewer=peer)

    unconsented = story(cohort, author, consent=False, title="Not for publishing")
    with pytest.raises(Conflict, match="not agreed to publication"):
        impact.review_story(actor=team, story=unconsented, decision="publish", note="", now=clock.now())
    with pytest.raises(DomainError, match="what the author should change"):
        impact.review_story(actor=team, story=unconsented, decision="return", note="", now=clock.now())

    sent = story(cohort, author)
    impact.review_story(actor=team, story=sent, decision="publish", note="", now=clock.now())
    assert sent.status == "published" and impact.published_stories(cohort) == [sent]
    assert sent in impact.stories_of(cohort, viewer=peer)
    with pytest.raises(Conflict, match="published"):
        impact.save_story(actor=author, cohort=cohort, story=sent, submit=False, now=clock.now(),
                          draft=impact.StoryDraft(title="Changed"))

    impact.withdraw_consent(actor=author, story=sent, now=clock.now())
    assert sent.status == "draft" and impact.published_stories(cohort) == []
    assert sent not in impact.stories_of(cohort, viewer=peer)
    assert sent not in impact.stories_of(cohort, viewer=team)     # not waiting for review: back with its author


def test_story_pages_for_author_team_and_peers(client, login_as, frozen_now):
    cohort = make_cohort()
    author, peer, team = make_participant(cohort, name="Story Author"), make_participant(cohort), make_team()
    cohort_id = cohort.id
    login_as(author)
    token = csrf_token(client, f"/cohorts/{cohort_id}/stories/new")
    form = {"csrf_token": token, "title": "From alone to together", "once_upon_a_time": "We met rarely.",
            "every_day": "People worked alone.", "one_day": "We tried a new format.",
            "because_of_that": "More people came.\r\n\r\nThey brought colleagues.", "until_finally": "",
            "consent_to_publish": "y", "action": "submit"}
    refused = client.post(f"/cohorts/{cohort_id}/stories/new", data=form)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Complete &#39;Until finally...&#39; before you send" in body and "We met rarely." in body
    saved = client.post(f"/cohorts/{cohort_id}/stories/new", data={**form, "until_finally": "It runs itself."})
    assert saved.status_code == 302
    made = db.session.scalar(select(ImpactStory))
    assert made.because_of_that == ["More people came.", "They brought colleagues."]
    story_id = made.id

    login_as(peer)
    assert client.get(f"/stories/{story_id}").status_code == 404  # not published yet
    login_as(team)
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "Because of that…</strong> They brought colleagues." in page
    token = csrf_token(client, f"/stories/{story_id}")
    assert client.post(f"/stories/{story_id}/review", data={"csrf_token": token, "decision": "publish"}).status_code == 302
    login_as(peer)
    assert "From alone to together" in client.get(f"/stories/{story_id}").get_data(as_text=True)


def outbox(recipient: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                   .order_by(OutboxMessage.id)))


def test_a_returned_story_emails_its_author_the_note_and_shows_it_on_the_story(client, login_as, frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort, name="Story Author", email="story.author@example.org")
    team = make_team()
    story_id = story(cohort, author).id
    login_as(team)
    token = csrf_token(client, f"/stories/{story_id}")
    note = "Say what changed for patients & carers in 'Until finally'."
    assert client.post(f"/stories/{story_id}/review", data={"csrf_token": token, "decision": "return",
                                                            "note": note}).status_code == 302
    [email] = outbox("story.author@example.org")
    assert "returned" in email.subject and "From alone to together" in email.subject
    assert note in email.body_text and "Say what changed for patients &amp; carers" in email.body_html
    assert f"http://convene.test/stories/{story_id}" in email.body_text
    assert f'href="http://convene.test/stories/{story_id}"' in email.body_html

    login_as(author)
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "Draft" in page
    assert 'class="nhsuk-warning-callout"' in page
    assert "Returned by the programme team" in page
    assert "Say what changed for patients &amp; carers in &#39;Until finally&#39;." in page


def test_publishing_a_story_emails_its_author(client, login_as, frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort, email="story.author@example.org")
    story_id = story(cohort, author).id
    login_as(make_team())
    token = csrf_token(client, f"/stories/{story_id}")
    assert client.post(f"/stories/{story_id}/review", data={"csrf_token": token, "decision": "publish"}
                       ).status_code == 302
    [email] = outbox("story.author@example.org")
    assert "published" in email.subject and "From alone to together" in email.subject
    assert f"http://convene.test/stories/{story_id}" in email.body_text
    assert f'href="http://convene.test/stories/{story_id}"' in email.body_html
    assert "withdraw consent" in email.body_text


def test_withdrawing_consent_unpublishes_and_returns_the_story_to_its_author(client, login_as, frozen_now):
    cohort = make_cohort()
    author, peer, team = make_participant(cohort), make_participant(cohort), make_team()
    published = story(cohort, author)
    impact.review_story(actor=team, story=published, decision="publish", note="Lovely, thank you", now=clock.now())
    story_id, cohort_id = published.id, cohort.id
    login_as(author)
    token = csrf_token(client, f"/stories/{story_id}")
    assert client.post(f"/stories/{story_id}/consent", data={"csrf_token": token}).status_code == 302
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "Draft" in page and "Waiting for review" not in page
    assert "only you and the programme team can read it" not in page  # a draft: only its author reads it
    assert "Only you can read it" in page
    assert "Returned by the programme team" not in page  # the author took it back; the team did not return it
    assert "impact_story_consent_withdrawn" in db.session.scalars(select(AuditEvent.action)).all()

    login_as(team)
    assert "From alone to together" not in client.get(f"/cohorts/{cohort_id}/stories").get_data(as_text=True)
    assert client.get(f"/stories/{story_id}").status_code == 404
    login_as(peer)
    assert client.get(f"/stories/{story_id}").status_code == 404


def test_the_board_says_its_counts_are_items_on_this_board(client, login_as, frozen_now):
    cohort = make_cohort()
    author, peer = make_participant(cohort), make_participant(cohort)
    impact.add_evidence(actor=author, cohort=cohort, kind="quote", text="Shared words", cycles=["immediate", "applied"],
                        consent=True)
    impact.add_evidence(actor=author, cohort=cohort, kind="reflection", text="Private words", cycles=["immediate"],
                        consent=False)
    cohort_id = cohort.id
    login_as(peer)
    page = client.get(f"/cohorts/{cohort_id}/value").get_data(as_text=True)
    assert "How much evidence of each kind of value" not in page
    assert "Items on this board tagged with each kind of value" in page
    assert '<th scope="row" class="nhsuk-table__header">Items on this board</th>' in page
    assert "An item tagged with more than one kind of value is counted under each" in page
    immediate = page.index('<th scope="col" class="nhsuk-table__header nhsuk-table__header--numeric">Immediate</th>')
    assert immediate > 0
    # the peer sees one item tagged "immediate" (the shared one), not the private reflection
    assert '<td class="nhsuk-table__cell nhsuk-table__cell--numeric">1</td>' in page


def test_a_published_story_offers_no_edit_and_its_edit_page_says_why_without_a_form(client, login_as, frozen_now):
    cohort = make_cohort()
    author, team = make_participant(cohort), make_team()
    published = story(cohort, author)
    assert impact.story_edit_refusal(published) is None
    impact.review_story(actor=team, story=published, decision="publish", note="", now=clock.now())
    reason = impact.story_edit_refusal(published)
    assert reason and "unpublish" in reason
    with pytest.raises(Conflict, match="unpublish"):
        impact.save_story(actor=author, cohort=cohort, draft=impact.StoryDraft(title="New", **SPINE),
                          story=published, submit=False, now=clock.now())
    story_id = published.id
    db.session.commit()
    login_as(author)
    page = client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert f"/stories/{story_id}/edit" not in page and reason in page
    edit = client.get(f"/stories/{story_id}/edit").get_data(as_text=True)
    assert reason in edit and "<textarea" not in edit and 'name="action"' not in edit
    impact.review_story(actor=team, story=db.session.get(ImpactStory, story_id), decision="unpublish", note="",
                        now=clock.now())
    db.session.commit()
    assert f"/stories/{story_id}/edit" in client.get(f"/stories/{story_id}").get_data(as_text=True)
    assert "<textarea" in client.get(f"/stories/{story_id}/edit").get_data(as_text=True)
