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
