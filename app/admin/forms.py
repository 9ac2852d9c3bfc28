"""The team's forms on a person's page."""

from flask_wtf import FlaskForm
from wtforms import StringField


class PersonActionForm(FlaskForm):
    """One form for the buttons on a person's page: each posts only the fields it needs (the role, or the
    typed email address and reason that confirm an erasure); the service checks them."""

    role = StringField()
    confirm = StringField()
    reason = StringField()
