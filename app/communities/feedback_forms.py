"""The forms of meeting feedback: the community's questions, the answers (given, or typed from a paper form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.communities.feedback_models import AnswersAre, StandardQuestion
from app.communities.services.feedback import (
    MAX_EXTRA_QUESTIONS,
    QUESTION_LIMIT,
    RATING_LABELS,
    TEXT_LIMIT,
    TEXT_QUESTIONS,
    Answers,
    Settings,
)


class FeedbackQuestionsForm(FlaskForm):
    is_enabled = RadioField("Ask for feedback after each meeting?", choices=[SelectChoice("yes", "Yes"),
                                                                            SelectChoice("no", "No")], default="yes")
    questions = SelectMultipleField("Questions to ask", choices=[SelectChoice(q.value, q.label)
                                                                for q in StandardQuestion])
    extra_1 = StringField("A question of your own (optional)", validators=[Length(max=QUESTION_LIMIT)])
    extra_2 = StringField("Another question of your own (optional)", validators=[Length(max=QUESTION_LIMIT)])
    extra_3 = StringField("And another (optional)", validators=[Length(max=QUESTION_LIMIT)])
    answers_are = RadioField("Answers are", choices=[SelectChoice(a.value, a.label) for a in AnswersAre],
                             default=AnswersAre.ANONYMOUS.value)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs) -> FeedbackQuestionsForm:
        extra = list(settings.extra_questions) + [""] * MAX_EXTRA_QUESTIONS
        return cls(data={"is_enabled": "yes" if settings.is_enabled else "no", "questions": list(settings.questions),
                         "extra_1": extra[0], "extra_2": extra[1], "extra_3": extra[2],
                         "answers_are": settings.answers_are}, **kwargs)

    def settings(self) -> Settings:
        return Settings(is_enabled=self.is_enabled.data != "no", questions=tuple(self.questions.data or ()),
                        extra_questions=tuple(f.data or "" for f in (self.extra_1, self.extra_2, self.extra_3)),
                        answers_are=self.answers_are.data or "")


class AnswersBase(FlaskForm):
    def answers(self) -> Answers:
        rating = getattr(self, "rating", None)
        anonymous = getattr(self, "anonymous", None)
        return Answers(
            rating=int(rating.data) if rating is not None and (rating.data or "").isdigit() else None,
            **{q.value: (getattr(self, q.value).data or "") if hasattr(self, q.value) else "" for q in TEXT_QUESTIONS},
            extra=[f.data or "" for f in self if f.name.startswith("extra_")],
            anonymous=anonymous is None or anonymous.data != "named")


def answers_form(settings: Settings, *, paper: bool = False, **kwargs) -> AnswersBase:
    """The community's questions as a form; `paper`: a convener typing in a paper form (never named)."""

    class AnswersForm(AnswersBase):
        pass

    if settings.asks(StandardQuestion.RATING):
        AnswersForm.rating = RadioField(StandardQuestion.RATING.label, validators=[Optional()], choices=[
            SelectChoice(str(n), f"{n}: {label}") for n, label in RATING_LABELS.items()])
    for question in TEXT_QUESTIONS:
        if settings.asks(question):
            setattr(AnswersForm, question.value, TextAreaField(f"{question.label} (optional)",
                                                               validators=[Length(max=TEXT_LIMIT)]))
    for n, text in enumerate(settings.extra_questions):
        setattr(AnswersForm, f"extra_{n}", TextAreaField(f"{text} (optional)", validators=[Length(max=TEXT_LIMIT)]))
    if settings.answers_are == AnswersAre.CHOICE and not paper:
        AnswersForm.anonymous = RadioField("Give this answer", default="anonymous", choices=[
            SelectChoice("anonymous", "Anonymously"), SelectChoice("named", "With my name")])
    return AnswersForm(**kwargs)
