"""A community's value: evidence (a quote, reflection or change) tagged by the value-creation cycles, and
value stories from interviews with its conveners (the questions asked, the answers, who was interviewed
and whether they agreed to share it). Recorded by the community's conveners or its programme of work's
team; only stories with consent appear in the programme of work's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from app import audit
from app.communities.models import Community
from app.communities.programme_models import (
    DEFAULT_STORY_QUESTIONS,
    CommunityValueEvidence,
    CommunityValueStory,
    ProgrammeOfWork,
)
from app.communities.services.access import check_manager
from app.communities.value_cycles import EvidenceKind, cycles_in
from app.db import db
from app.errors import DomainError, NotFound

MAX_TEXT = 4000


def story_questions(community: Community) -> list[str]:
    """The questions an interview starts from: its programme of work's, or the defaults."""
    if community.programme_of_work_id is not None:
        programme = db.session.get(ProgrammeOfWork, community.programme_of_work_id)
        if programme is not None:
            return programme.questions
    return list(DEFAULT_STORY_QUESTIONS)


def add_evidence(*, actor, community: Community, kind: str, text: str, cycles: list[str],
                 now: datetime) -> CommunityValueEvidence:
    check_manager(actor, community)
    if kind not in {k.value for k in EvidenceKind}:
        raise DomainError("Choose a quote, a reflection or a change.", field="kind")
    text = (text or "").strip()
    if not text:
        raise DomainError("Write the quote, reflection or change.", field="text")
    chosen = cycles_in(cycles)
    if not chosen:
        raise DomainError("Choose at least one kind of value it shows.", field="cycles")
    evidence = CommunityValueEvidence(community_id=community.id, kind=kind, text=text[:MAX_TEXT], cycles=chosen,
                                      recorded_by_id=actor.id)
    db.session.add(evidence)
    db.session.flush()
    audit.record(actor=actor, action="community_value_evidence_added", target_type="community",
                 target_id=community.id, now=now, detail={"evidence_id": evidence.id})
    return evidence


def delete_evidence(*, actor, community: Community, evidence_id: int, now: datetime) -> None:
    check_manager(actor, community)
    evidence = db.session.get(CommunityValueEvidence, evidence_id)
    if evidence is None or evidence.community_id != community.id:
        raise NotFound("We could not find that evidence.")
    db.session.delete(evidence)
    db.session.flush()
    audit.record(actor=actor, action="community_value_evidence_deleted", target_type="community",
                 target_id=community.id, now=now, detail={"evidence_id": evidence_id})


def evidence_of(community: Community) -> list[CommunityValueEvidence]:
    return list(db.session.scalars(select(CommunityValueEvidence).where(
        CommunityValueEvidence.community_id == community.id).order_by(CommunityValueEvidence.id.desc())))


@dataclass
class StoryDraft:
    interviewee_id: int | None = None  # one of the community's conveners, or none
    interviewee_name: str = ""  # someone else, by name
    interviewed_on: date | None = None
    questions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    cycles: list[str] = field(default_factory=list)
    consent_to_share: bool = False


def _apply_story(story: CommunityValueStory, community: Community, draft: StoryDraft) -> None:
    people = {m.user_id: m.user for m in community.memberships}
    if draft.interviewee_id is not None and draft.interviewee_id not in people:
        raise DomainError("Choose someone in this community, or write the name of who was interviewed.",
                          field="interviewee")
    name = (draft.interviewee_name or "").strip()[:200]
    if draft.interviewee_id is None and not name:
        raise DomainError("Say who was interviewed.", field="interviewee_name")
    pairs = [{"question": (q or "").strip()[:300], "answer": (a or "").strip()[:MAX_TEXT]}
             for q, a in zip(draft.questions, draft.answers, strict=False)]
    pairs = [p for p in pairs if p["question"] or p["answer"]]
    if not any(p["answer"] for p in pairs):
        raise DomainError("Write the answer to at least one question.", field="answer_1")
    if any(p["answer"] and not p["question"] for p in pairs):
        raise DomainError("Keep the question beside each answer.")
    story.interviewee_id = draft.interviewee_id
    story.interviewee_name = people[draft.interviewee_id].name if draft.interviewee_id is not None else name
    story.interviewed_on = draft.interviewed_on
    story.answers = pairs
    story.cycles = cycles_in(draft.cycles)
    story.consent_to_share = bool(draft.consent_to_share)


def save_story(*, actor, community: Community, story: CommunityValueStory | None, draft: StoryDraft,
               now: datetime) -> CommunityValueStory:
    """A new value story, or changes to one (withdrawing consent takes it out of the report)."""
    check_manager(actor, community)
    if story is not None and story.community_id != community.id:
        raise NotFound("We could not find that story.")
    is_new = story is None
    if story is None:
        story = CommunityValueStory(community_id=community.id, recorded_by_id=actor.id)
    _apply_story(story, community, draft)
    if is_new:
        db.session.add(story)
    db.session.flush()
    audit.record(actor=actor, action="community_value_story_saved", target_type="community",
                 target_id=community.id, now=now, detail={"story_id": story.id, "consent": story.consent_to_share})
    return story


def story_of(community: Community, story_id: int) -> CommunityValueStory:
    story = db.session.get(CommunityValueStory, story_id)
    if story is None or story.community_id != community.id:
        raise NotFound("We could not find that story.")
    return story


def stories_of(community: Community) -> list[CommunityValueStory]:
    return list(db.session.scalars(select(CommunityValueStory).where(
        CommunityValueStory.community_id == community.id).order_by(CommunityValueStory.id)))
