from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from app.errors import DomainError

# The register names its fields per person: "status-<enrolment id>" and "note-<enrolment id>".
ROW_PREFIXES = ("status-", "note-")


class ApologiesForm(FlaskForm):
    reason = TextAreaField("Reason (optional)", validators=[Length(max=500)])
    action = StringField()  # the button pressed: "withdraw" takes the apologies back, anything else sends them


class ImportForm(FlaskForm):
    file = FileField("Register as a CSV or Excel file")
    action = StringField()  # "confirm" saves the previewed text, "filter" shows it again, anything else previews
    csv_text = TextAreaField()  # the previewed text, sent back with the buttons
    fingerprint = StringField()  # what the preview was of: the import is refused if the register changed since
    show = StringField()  # which of the previewed rows to list (views.PREVIEW_FILTERS)


class RegisterForm(FlaskForm):
    """A register as the team saved it: the button pressed ("save", or "save_rest_present": mark everyone
    else present) and a status and a note per person. Build it with `register_form()`, which gives it a
    field for each person the submitted register names."""

    action = StringField()

    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        formdata = self.meta.wrap_formdata(self, formdata)
        self.submitted_rows = [name for name in formdata or () if name.startswith(ROW_PREFIXES)]
        super().process(formdata, obj, data, extra_filters, **kwargs)

    def entries(self) -> dict[int, tuple[str, str]]:
        """enrolment id -> (status or "", note) for every person the form gave a status or a note."""
        typed: dict[int, tuple[str, str]] = {}
        for name in self.submitted_rows:
            prefix = "status-" if name.startswith("status-") else "note-"
            try:
                enrolment_id = int(name.removeprefix(prefix))
            except ValueError:
                raise DomainError("The register could not be read. Reload the page and try again.") from None
            typed[enrolment_id] = (self._typed(f"status-{enrolment_id}"), self._typed(f"note-{enrolment_id}"))
        return typed

    def _typed(self, name: str) -> str:
        field = self._fields.get(name)
        return (field.data or "") if field is not None else ""


def register_form() -> RegisterForm:
    """The register form with a field for each person the submitted register names: those it was sent
    with, not those the register holds now, so that an entry for someone no longer in it (withdrawn since
    the page was loaded, or a forged name) reaches the service and is refused rather than dropped."""
    rows = RegisterForm().submitted_rows
    if not rows:
        return RegisterForm()
    submitted = type("SubmittedRegisterForm", (RegisterForm,), {name: StringField() for name in dict.fromkeys(rows)})
    return submitted()
