"""The celebration pages' forms. Most only read what was typed, for the services to check; the CSRF token is
checked for every POST by CSRFProtect."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf


def typed(form: FlaskForm) -> dict[str, str]:
    """What was posted in each of the form's fields, for a page shown again after a refusal (fields that
    were not posted are left out, so the page falls back to what it would show anyway)."""
    return {field.name: field.data for field in form if field.raw_data and field.name != "csrf_token"}


class PlacesField(Field):
    """The running order's `position-<showcase id>` inputs, one per showcase on the page, as typed:
    {the id after the prefix: the place}. The service checks each id and place."""

    PREFIX = "position-"

    def process(self, formdata, data=None, extra_filters=None):
        self.process_errors = []
        self.raw_data = []
        self.data = {}
        if formdata is None:
            return
        for key in formdata:
            if key.startswith(self.PREFIX):
                self.raw_data.append(key)
                self.data[key.removeprefix(self.PREFIX)] = formdata.get(key)


class InviteForm(FlaskForm):
    name = StringField("Guest's full name")
    email = StringField("Guest's email address")
    relationship = StringField("How you know them")


class SponsorInvitationsForm(FlaskForm):
    action = StringField("Action")  # the button pressed: "propose" or "send"


class ShowcaseForm(FlaskForm):
    title = StringField("Title")
    description = TextAreaField("What you will show")
    format = StringField("Format")


class RunningOrderForm(FlaskForm):
    positions = PlacesField("Places")


class RsvpForm(FlaskForm):
    coming = RadioField("Will you come?", validate_choice=False,
                        choices=[SelectChoice("yes", "Yes, I will come"), SelectChoice("no", "No, I cannot come")],
                        validators=[AnyOf(("yes", "no"), message="Choose whether you will come")])
    access_needs = TextAreaField("Access needs (optional)")
    dietary_needs = TextAreaField("Dietary needs (optional)")


class ClinicForm(FlaskForm):
    action = StringField("Action")  # the button pressed: "signup" or "cancel"
    topic = TextAreaField("A topic you would like to talk about (optional)")


class ParticipantAnswerForm(FlaskForm):
    """A participant's own answer: read as typed, for the service to check ("yes" or "no")."""

    coming = StringField("Will you come?")
    access_needs = TextAreaField("Access needs (optional)")
    dietary_needs = TextAreaField("Dietary needs (optional)")
