"""The groups pages' forms. They only read what was posted: the services check it, and the CSRF token is
checked for every POST by CSRFProtect."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import Field, StringField, ValidationError
from wtforms.widgets import TextInput

from app.form_errors import row_id


class WholeNumberField(Field):
    """A number read as Werkzeug's `get(name, type=parse)` reads it: None when it is missing or not one,
    never a form error (the service says what is wrong with it)."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, *, parse: Callable[[str], int] = int, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.parse = parse

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist:
            try:
                self.data = self.parse(valuelist[0])
            except ValueError:
                self.data = None

    def _value(self):
        return "" if self.data is None else str(self.data)


class WholeNumbersField(Field):
    """Every posted value of a repeated checkbox that is a whole number, in the order posted."""

    widget = TextInput()

    def process_data(self, value):
        self.data = list(value or [])

    def process_formdata(self, valuelist):
        self.data = [int(value) for value in valuelist if value.isascii() and value.isdigit()]


class AllocateForm(FlaskForm):
    size = WholeNumberField("People per group")
    seed = WholeNumberField("Seed")

    def validate_size(self, field):
        # Left out, the size is the default 5; typed but not a whole number, it is refused, never guessed.
        if field.raw_data and field.data is None:
            raise ValidationError("Enter the group size as a whole number, like 5")

    @property
    def typed_size(self) -> str:
        return self.size.raw_data[0] if self.size.raw_data else "5"


class MoveForm(FlaskForm):
    enrolment_id = WholeNumberField("Person", parse=row_id)
    to = WholeNumberField("Move to group", parse=row_id)


class SwapForm(FlaskForm):
    other = WholeNumberField("Exchange with", parse=row_id)


class SwapAnswerForm(FlaskForm):
    answer = StringField("Answer")


class MeetingRecordForm(FlaskForm):
    attended = WholeNumbersField("Who came")
    note = StringField("Notes for your group")


class WithdrawForm(FlaskForm):
    reason = StringField("Reason")
