"""Forms of signing in: the password, the second step, enrolling, confirming it is you."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import InputRequired, Length


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[InputRequired("Enter your email address")])
    password = PasswordField("Password", validators=[InputRequired("Enter your password")])


class CodeForm(FlaskForm):
    """The second step: a code from the authenticator app, or a recovery code."""

    code = StringField(
        "Code",
        description="The 6-digit code your authenticator app shows now, or one of your "
        "recovery codes.",
        validators=[InputRequired("Enter the code"), Length(max=40)],
    )


class EnrolForm(FlaskForm):
    code = StringField(
        "Code from the app",
        description="The 6-digit code the app shows after you added this account.",
        validators=[InputRequired("Enter the 6-digit code from the app"), Length(max=40)],
    )


class ConfirmPasswordForm(FlaskForm):
    """Step-up: the password again before a full export, an erasure or a role change."""

    password = PasswordField("Password", validators=[InputRequired("Enter your password")])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", validators=[InputRequired("Enter your email address")])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        description="At least 10 characters.",
        validators=[InputRequired("Enter a new password"), Length(max=200)],
    )
    again = PasswordField(
        "New password again", validators=[InputRequired("Enter the new password again")]
    )
