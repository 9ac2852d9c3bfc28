from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.portal.models import KIND_LABELS

MODULE_CHOICES = [SelectChoice("", "Not about one module")] + [SelectChoice(str(n), f"Module {n}") for n in range(1, 6)]


class ResourceForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the resource a title"), Length(max=200)])
    description = TextAreaField("Description (optional)", validators=[Length(max=3000)])
    # No kind is chosen for you: pick one, or leave it and a file's type decides (a link needs one).
    kind = SelectField("Kind", choices=[SelectChoice("", "Choose a kind")] + [
        SelectChoice(k.value, v) for k, v in KIND_LABELS.items()])
    module_number = SelectField("Module", choices=MODULE_CHOICES, validators=[Optional()])
    tags = StringField("Tags (optional)", validators=[Length(max=300)])
    file = FileField("Upload a file")
    url = URLField("Or give a link", validators=[Optional(), Length(max=500)])
    session_id = SelectField("Session (optional)", choices=[], validators=[Optional()])
    release_on = DateField("Release date (optional)", format="%Y-%m-%d", validators=[Optional()])
    all_cohorts = BooleanField("Share with every cohort (the programme-wide library)")


class ReplaceFileForm(FlaskForm):
    file = FileField("The new file")


class ThreadForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the discussion a title"), Length(max=200)])
    module_number = SelectField("Module", choices=MODULE_CHOICES, validators=[Optional()])
    body = TextAreaField("Your post", validators=[DataRequired("Write the first post"), Length(max=10000)])


class PostForm(FlaskForm):
    body = TextAreaField("Your reply", validators=[DataRequired("Write something before posting"),
                                                   Length(max=10000)])


class HideForm(FlaskForm):
    reason = StringField("Why hide it?", validators=[DataRequired("Say why the post is hidden"), Length(max=500)])


class SwitchForm(FlaskForm):
    """One button that turns something on or off (lock, pin, unhide, done): `on` is "1" or "0"."""

    on = HiddenField(validators=[DataRequired()])

    @property
    def turned_on(self) -> bool:
        return self.on.data == "1"


class FollowForm(FlaskForm):
    state = RadioField("Emails about new posts", choices=[
        SelectChoice("following", "Follow: email me about new posts"),
        SelectChoice("", "Only once I have posted"),
        SelectChoice("muted", "Mute: never email me about this discussion"),
    ], default="", validators=[Optional()], validate_choice=True)


class DirectoryForm(FlaskForm):
    is_listed = BooleanField("List me in my cohort's people directory")
    show_role = BooleanField("Show my job title")
    show_organisation = BooleanField("Show my organisation")
    show_cop = BooleanField("Show my community of practice")
    show_email = BooleanField("Show my email address to my cohort")
