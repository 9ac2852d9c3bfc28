from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

EMAIL_REQUIRED = DataRequired("Enter your email address")
EMAIL_VALID = Email("Enter an email address in the correct format, like name@example.nhs.uk",
                    check_deliverability=False)


class LoginForm(FlaskForm):
    email = EmailField("Email address", validators=[EMAIL_REQUIRED, EMAIL_VALID])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


class RegisterForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter your full name"), Length(max=120)])
    email = EmailField("Email address", validators=[EMAIL_REQUIRED, EMAIL_VALID, Length(max=254)])
    job_title = StringField("Job title", validators=[Length(max=120)])
    password = PasswordField("Create a password", validators=[
        DataRequired("Create a password"),
        Length(min=8, max=128, message="Password must be between 8 and 128 characters"),
    ])
    confirm = PasswordField("Confirm your password", validators=[
        DataRequired("Confirm your password"), EqualTo("password", "The passwords do not match"),
    ])


class ConfirmEmailForm(FlaskForm):
    """Only the CSRF token: opening the emailed link changes nothing, the button does."""


class ResendConfirmationForm(FlaskForm):
    email = EmailField("Email address", validators=[EMAIL_REQUIRED, EMAIL_VALID])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", validators=[EMAIL_REQUIRED, EMAIL_VALID])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired("Create a new password"),
        Length(min=8, max=128, message="Password must be between 8 and 128 characters"),
    ])
    confirm = PasswordField("Confirm your new password", validators=[
        DataRequired("Confirm your new password"), EqualTo("password", "The passwords do not match"),
    ])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password")])
    password = PasswordField("New password", validators=[
        DataRequired("Create a new password"),
        Length(min=8, max=128, message="Password must be between 8 and 128 characters"),
    ])
    confirm = PasswordField("Confirm your new password", validators=[
        DataRequired("Confirm your new password"), EqualTo("password", "The passwords do not match"),
    ])


# The settings page's buttons and the two-step pages: their fields are read as posted (the view decides
# what an unknown value means), the CSRF token is checked as for every form.

class EndSessionsForm(FlaskForm):
    scope = StringField()  # "others", or anything else for every browser including this one


class DeletionRequestForm(FlaskForm):
    action = StringField()  # "withdraw", or anything else to ask for deletion


class ReminderSettingsForm(FlaskForm):
    wants_reminders = StringField()  # the checkbox: "y" when ticked


class CalendarLinkForm(FlaskForm):
    action = StringField()  # "create", "reset" or "revoke"


class TwoStepCodeForm(FlaskForm):
    code = StringField()


class TwoStepSettingsForm(FlaskForm):
    action = StringField()  # "off" to turn two-step sign-in off, else turning it on
    code = StringField()
    password = PasswordField()
