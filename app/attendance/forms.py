from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField
from wtforms.validators import Length


class ApologiesForm(FlaskForm):
    reason = TextAreaField("Reason (optional)", validators=[Length(max=500)])


class ImportForm(FlaskForm):
    file = FileField("Register as a CSV or Excel file")
