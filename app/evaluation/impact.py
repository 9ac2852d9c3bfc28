"""Value evidence tagged with the framework's cycles, the value board, and impact stories.

Consent rules: a participant's own evidence or feedback quote is shown beyond them and the team
only with their consent; an impact story is published only with consent to publish, and
unpublishing is always possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, render_template
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app import audit
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.evaluation.models import (
    EvidenceKind,
    FeedbackResponse,
    ImpactStory,
    StoryStatus,
    ValueCycle,
    ValueEvidence,
    cycles_in,
)
from app.notifications.services import queue_email
from app.programme.access import enrolment_in
from app.programme.models import Cohort, Enrolment, ProgrammeSession
from app.urls import absolute_url

STORY_BEATS = 6  # "Because of that..." may repeat up to this many times


# -- value evidence --------------------------------------------------------------------------

def add_evidence(*, actor, cohort: Cohort, kind: str, text: str, cycles: list[str], consent: bool) -> ValueEvidence:
    """A participant's own evidence (theirs, shared only with consent) or the team's observation."""
    enrolment = None if actor.is_team else enrolment_in(actor, cohort.id)
    if not actor.is_team and enrolment is None:
        raise PermissionDenied("Only participants of this cohort and the programme team add evidence here.")
    if kind not in {k.value for k in EvidenceKind}:
        raise DomainError("Choose whether this is a quote, a reflection or a change.", field="kind")
    text = text.strip()
    if not text:
        raise DomainError("Write the quote, reflection or change.", field="text")
    if len(text) > 2000:
        raise DomainError("Keep this to 2000 characters.", field="text")
    chosen = cycles_in(cycles)
    if not chosen:
        raise DomainError("Choose at least one kind of value it shows.", field="cycles")
    evidence = ValueEvidence(cohort_id=cohort.id, kind=kind, text=text, cycles=chosen, enrolment_id=getattr(
        enrolment, "id", None), recorded_by_id=actor.id, consent_to_share=bool(consent))
    db.session.add(evidence)
    db.session.flush()
    return evidence


def delete_evidence(*, actor, evidence: ValueEvidence) -> None:
    mine = evidence.enrolment is not None and evidence.enrolment.user_id == actor.id
    if not (actor.is_team or mine):
        raise PermissionDenied("You can only remove your own evidence.")
    db.session.delete(evidence)
    db.session.flush()


def tag_feedback(*, actor, response: FeedbackResponse, cycles: list[str]) -> None:
    """The team tags a feedback quote with the value it shows."""
    if not actor.is_team:
        raise PermissionDenied("Only the programme team tags feedback.")
    response.value_cycles = cycles_in(cycles)
    db.session.flush()


@dataclass
class BoardItem:
    kind: str
    text: str
    cycles: list[str]
    source: str  # who or where it came from, as it may be shown
    shareable: bool
    evidence_id: int | None = None
    feedback_key: str | None = None
    mine: bool = False


@dataclass
class Board:
    columns: dict[str, list[BoardItem]] = field(default_factory=dict)
    untagged: list[BoardItem] = field(default_factory=list)

    def count(self, cycle: str) -> int:
        """Items on this board, as this viewer sees it, tagged with the cycle (an item with several tags
        counts under each). Not the report's figure, which counts every time a cycle was named."""
        return len(self.columns.get(cycle, []))


def value_board(cohort: Cohort, *, viewer, shareable_only: bool = False) -> Board:
    """Evidence by cycle. The team sees everything; others see what may be shared, and their own."""
    enrolment = None if viewer is None or viewer.is_staff else enrolment_in(viewer, cohort.id)
    everything = viewer is not None and viewer.is_team and not shareable_only
    query = select(ValueEvidence).where(ValueEvidence.cohort_id == cohort.id).options(
        selectinload(ValueEvidence.enrolment).selectinload(Enrolment.user)).order_by(ValueEvidence.id)
    if not everything:
        query = query.where(or_(ValueEvidence.consent_to_share.is_(True),
                                ValueEvidence.enrolment_id == (enrolment.id if enrolment else -1)))
    mine = enrolment.id if enrolment else None
    items = [BoardItem(e.kind, e.text, e.cycles, e.enrolment.user.name if e.enrolment else "Programme team",
                       e.consent_to_share, evidence_id=e.id, mine=mine is not None and e.enrolment_id == mine)
             for e in db.session.scalars(query)]
    quotes = select(FeedbackResponse).join(ProgrammeSession).where(
        ProgrammeSession.cohort_id == cohort.id, FeedbackResponse.quote != "").order_by(FeedbackResponse.key)
    if not everything:
        quotes = quotes.where(FeedbackResponse.quote_consent.is_(True))
    for response in db.session.scalars(quotes.options(selectinload(FeedbackResponse.session))):
        items.append(BoardItem(EvidenceKind.QUOTE.value, response.quote, response.value_cycles,
                               f"Feedback on {response.session.title}", response.quote_consent,
                               feedback_key=response.key))
    board = Board({cycle.value: [] for cycle in ValueCycle}, [item for item in items if not item.cycles])
    for item in items:
        for cycle in item.cycles:
            board.columns[cycle].append(item)
    return board


# -- impact stories --------------------------------------------------------------------------

@dataclass
class StoryDraft:
    title: str = ""
    once_upon_a_time: str = ""
    every_day: str = ""
    one_day: str = ""
    because_of_that: list[str] = field(default_factory=list)
    until_finally: str = ""
    cycles: list[str] = field(default_factory=list)
    consent_to_publish: bool = False


def _apply(story: ImpactStory, draft: StoryDraft) -> None:
    story.title = draft.title.strip()[:200]
    story.once_upon_a_time, story.every_day = draft.once_upon_a_time.strip(), draft.every_day.strip()
    story.one_day, story.until_finally = draft.one_day.strip(), draft.until_finally.strip()
    story.because_of_that = [b.strip() for b in draft.because_of_that if b.strip()][:STORY_BEATS]
    story.cycles = cycles_in(draft.cycles)
    story.consent_to_publish = draft.consent_to_publish


def _check_complete(story: ImpactStory) -> None:
    for name, label in (("once_upon_a_time", "Once upon a time"), ("every_day", "Every day"),
                        ("one_day", "One day"), ("until_finally", "Until finally")):
        if not getattr(story, name):
            raise DomainError(f"Complete '{label}...' before you send your story for review.", field=name)
    if not story.because_of_that:
        raise DomainError("Add at least one 'Because of that...' before you send your story for review.",
                          field="because_of_that")


def story_edit_refusal(story: ImpactStory) -> str | None:
    """Why its author cannot change this story now, or None when they can. The one rule: `save_story`
    enforces it, the story page asks it before offering "Edit", the edit page before showing a form."""
    if story.status == StoryStatus.PUBLISHED:
        return "This story is published. Ask the programme team to unpublish it before you change it."
    return None


def save_story(*, actor, cohort: Cohort, draft: StoryDraft, story: ImpactStory | None, submit: bool,
               now: datetime) -> ImpactStory:
    enrolment = enrolment_in(actor, cohort.id)
    if enrolment is None:
        raise PermissionDenied("Only participants of this cohort write impact stories here.")
    if story is not None and story.enrolment_id != enrolment.id:
        raise PermissionDenied("You can only change your own story.")
    refusal = story_edit_refusal(story) if story is not None else None
    if refusal:
        raise Conflict(refusal)
    if not draft.title.strip():
        raise DomainError("Give your story a title.", field="title")
    for text in (draft.once_upon_a_time, draft.every_day, draft.one_day, draft.until_finally, *draft.because_of_that):
        if len(text) > 3000:
            raise DomainError("Keep each part of the story to 3000 characters.")
    if story is None:
        story = ImpactStory(cohort_id=cohort.id, enrolment_id=enrolment.id)
        db.session.add(story)
    _apply(story, draft)
    if submit:
        _check_complete(story)
        story.status = StoryStatus.SUBMITTED.value
    elif story.status == StoryStatus.SUBMITTED:
        story.status = StoryStatus.DRAFT.value
    db.session.flush()
    return story


def review_story(*, actor, story: ImpactStory, decision: str, note: str, now: datetime) -> None:
    """The team publishes a submitted story (only with consent), returns it with a note, or unpublishes."""
    if not actor.is_team:
        raise PermissionDenied("Only the programme team reviews impact stories.")
    if decision == "publish":
        if story.status != StoryStatus.SUBMITTED:
            raise Conflict("Only a story sent for review can be published.")
        if not story.consent_to_publish:
            raise Conflict("The author has not agreed to publication, so this story cannot be published.")
        story.status, story.published_at = StoryStatus.PUBLISHED.value, now
    elif decision == "return":
        if story.status != StoryStatus.SUBMITTED:
            raise Conflict("Only a story sent for review can be returned to its author.")
        if not note.strip():
            raise DomainError("Say what the author should change.", field="note")
        story.status, story.published_at = StoryStatus.DRAFT.value, None
    elif decision == "unpublish":
        story.status, story.published_at = StoryStatus.SUBMITTED.value, None
    else:
        raise DomainError("Choose what to do with the story.", field="decision")
    story.review_note = note.strip()[:2000]
    audit.record(actor=actor, action=f"impact_story_{decision}", target_type="impact_story", target_id=story.id,
                 now=now)
    db.session.flush()
    if decision == "publish":
        _tell_author(story, "story_published", f"Your impact story is published: {story.title}", now=now)
    elif decision == "return":
        _tell_author(story, "story_returned", f"Your impact story has been returned to you: {story.title}",
                     now=now)


def _tell_author(story: ImpactStory, template: str, subject: str, *, now: datetime) -> None:
    """An email to the story's author, in this unit of work; one per review decision (the key has its time)."""
    author = story.enrolment.user
    context = dict(name=author.name, story=story, note=story.review_note, cohort=story.enrolment.cohort,
                   link=absolute_url("evaluation.story", story_id=story.id),
                   programme_name=current_app.config["PROGRAMME_NAME"])
    queue_email(key=f"{template.replace('_', '-')}:{story.id}:{now.isoformat()}", recipient=author.email,
                subject=subject, category="impact_story", due_at=now,
                body_text=render_template(f"evaluation/email/{template}.txt", **context),
                body_html=render_template(f"evaluation/email/{template}.html", **context))


def withdraw_consent(*, actor, story: ImpactStory, now: datetime) -> None:
    """The author withdraws consent: a published story is unpublished at once and comes back to them as
    a draft (not into the team's review queue: they sent it for publication, and no longer agree)."""
    enrolment = enrolment_in(actor, story.cohort_id)
    if enrolment is None or story.enrolment_id != enrolment.id:
        raise PermissionDenied("You can only change your own story.")
    story.consent_to_publish = False
    if story.status == StoryStatus.PUBLISHED:
        # The team's note was about the published story; left on a draft it would read as a return.
        story.status, story.published_at, story.review_note = StoryStatus.DRAFT.value, None, ""
    audit.record(actor=actor, action="impact_story_consent_withdrawn", target_type="impact_story",
                 target_id=story.id, now=now)
    db.session.flush()


def stories_of(cohort: Cohort, *, viewer) -> list[ImpactStory]:
    """The team sees every submitted or published story; participants see published ones and their own."""
    query = select(ImpactStory).where(ImpactStory.cohort_id == cohort.id).options(
        selectinload(ImpactStory.enrolment).selectinload(Enrolment.user)).order_by(ImpactStory.id)
    if viewer.is_team:
        query = query.where(ImpactStory.status != StoryStatus.DRAFT.value)
    else:
        enrolment = enrolment_in(viewer, cohort.id)
        query = query.where(or_(ImpactStory.status == StoryStatus.PUBLISHED.value,
                                ImpactStory.enrolment_id == (enrolment.id if enrolment else -1)))
    return list(db.session.scalars(query))


def published_stories(cohort: Cohort) -> list[ImpactStory]:
    return list(db.session.scalars(select(ImpactStory).where(
        ImpactStory.cohort_id == cohort.id, ImpactStory.status == StoryStatus.PUBLISHED.value,
        ImpactStory.consent_to_publish.is_(True)).options(
        selectinload(ImpactStory.enrolment).selectinload(Enrolment.user)).order_by(ImpactStory.published_at)))
