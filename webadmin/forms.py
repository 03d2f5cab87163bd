"""WTForms forms for every POST; Flask-WTF adds and checks the CSRF token on each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import (
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from privpi.errors import UserStoreError
from privpi.principal import ROLES
from privpi.status import MAX_REASON, STATUSES
from privpi.tokens import MAX_EXPIRY_DAYS, MAX_PATTERN
from privpi.users import MAX_PASSWORD, MIN_PASSWORD, check_username

# Plain values: WTForms 3.3 deprecates (value, label) tuples, which are all that
# types-WTForms (written for 3.2) accepts; hence the ignores on the SelectFields below.
ROLE_CHOICES = list(ROLES)


class PlainForm(FlaskForm):
    """Just the CSRF token (and the confirmation flag), for buttons that take no values."""

    confirm = HiddenField()


def _username(form: FlaskForm, field: Field) -> None:
    try:
        check_username(field.data or "")
    except UserStoreError as e:
        raise ValidationError(str(e)) from None


class LoginForm(FlaskForm):
    username = StringField("User name", [InputRequired(), Length(max=64)])
    password = PasswordField("Password", [InputRequired(), Length(max=MAX_PASSWORD)])


def _password_fields() -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        "New password",
        [
            InputRequired(),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=f"The password must be at least {MIN_PASSWORD} and at most "
                f"{MAX_PASSWORD} characters long.",
            ),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )
    repeat = PasswordField(
        "Repeat the password", [InputRequired(), EqualTo("password", "The passwords differ.")]
    )
    return password, repeat


class AddUserForm(FlaskForm):
    username = StringField("User name", [InputRequired(), _username])
    role = SelectField("Role", choices=ROLE_CHOICES, default="reader")  # type: ignore[arg-type]
    password, repeat = _password_fields()


class RoleForm(PlainForm):
    role = SelectField("Role", choices=ROLE_CHOICES)  # type: ignore[arg-type]


class PasswordForm(FlaskForm):
    password, repeat = _password_fields()


class EnableForm(PlainForm):
    enabled = SelectField("Enabled", choices=["1", "0"])  # type: ignore[list-item]


class StatusForm(PlainForm):
    """A project's PEP 792 status (privpi.status)."""

    status = SelectField("Status", choices=list(STATUSES))  # type: ignore[arg-type]
    reason = StringField("Reason", [Optional(), Length(max=MAX_REASON)])


class VersionForm(PlainForm):
    version = StringField("Version", [InputRequired(), Length(max=128)])


class YankForm(VersionForm):
    reason = StringField("Reason", [Optional(), Length(max=300)])


class DeleteForm(PlainForm):
    """Delete one file, one version, or (neither given) the whole project."""

    version = StringField("Version", [Optional(), Length(max=128)])
    filename = StringField("File", [Optional(), Length(max=255)])


class AccountPasswordForm(FlaskForm):
    current = PasswordField("Current password", [InputRequired(), Length(max=MAX_PASSWORD)])
    password, repeat = _password_fields()


class TokenForm(FlaskForm):
    """A new API token: its label, scope, projects and lifetime (privpi.tokens checks them)."""

    label = StringField(
        "Label",
        [Optional(), Length(max=64)],
        description="What it is for, e.g. ci-acme. Left empty, one is made up.",
    )
    scope = SelectField("Scope", choices=["read", "publish"], default="read")  # type: ignore[list-item]
    projects = StringField(
        "Projects",
        [Optional(), Length(max=2000)],
        description="Project names, separated by spaces or commas. Empty: every project.",
    )
    expires = IntegerField(
        "Expires in days",
        [Optional(), NumberRange(min=1, max=MAX_EXPIRY_DAYS)],
        description="Empty: never.",
    )

    def project_list(self) -> list[str]:
        return (self.projects.data or "").replace(",", " ").split()


class ConnectTokenForm(FlaskForm):
    scope = SelectField("Scope", choices=["read", "publish"])  # type: ignore[list-item]


class GrantForm(PlainForm):
    pattern = StringField(
        "Project pattern",
        [InputRequired(), Length(max=MAX_PATTERN)],
        description="A project name or a pattern such as acme-*.",
    )
