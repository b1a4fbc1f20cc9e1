"""Forms of the person's sign-in pages and of the console's user pages."""

import re
import zoneinfo

from django import forms
from django.contrib.auth import password_validation

from ciam.accounts.models import User


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        # "webauthn": the browser may offer passkeys in the field's autofill (conditional UI).
        widget=forms.EmailInput(attrs={"autocomplete": "username webauthn", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    remember = forms.BooleanField(label="Keep me signed in", required=False)

    error_messages = {
        # One message for an unknown e-mail and a wrong password: no account enumeration.
        "invalid_login": "That e-mail address and password do not match an account.",
        "locked": "This account is locked. Contact your administrator.",
    }

    def focus_password(self) -> None:
        """Put the cursor in the password field (the e-mail is already there: a hint, a retry)."""
        self.fields["email"].widget.attrs.pop("autofocus", None)
        self.fields["password"].widget.attrs["autofocus"] = True


class RegistrationForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_confirm = forms.CharField(
        label="Confirm password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    error_messages = {
        "password_mismatch": "The two passwords do not match.",
    }

    def clean_email(self) -> str:
        # Whether the address has an account is not said here (nor anywhere): both get "check
        # your e-mail", and the owner of a taken address hears of the attempt.
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error(
                "password_confirm",
                forms.ValidationError(self.error_messages["password_mismatch"], code="password_mismatch"),
            )
        if password:
            # Every password problem at once, whatever else is wrong with the form (an e-mail
            # that is invalid or taken included).
            try:
                password_validation.validate_password(password, User(email=cleaned.get("email") or ""))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class UserCreateForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254)
    name = forms.CharField(label="Full name", max_length=200, required=False)
    password = forms.CharField(
        label="Password",
        strip=False,
        required=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to let the person set one later (they cannot sign in until then).",
    )
    is_staff = forms.BooleanField(label="Administrator (may use this console)", required=False)
    email_verified = forms.BooleanField(label="E-mail address verified", required=False)


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        label="New password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class DeleteUserForm(forms.Form):
    confirm_email = forms.CharField(label="Type the e-mail address to confirm", max_length=254)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm_email(self) -> str:
        value = self.cleaned_data["confirm_email"].strip().lower()
        if value != self.user.email:
            raise forms.ValidationError("That is not this account's e-mail address.")
        return value


class EmailCodeForm(forms.Form):
    """The 6-digit code from a message, for the flow the page is about."""

    flow = forms.UUIDField(widget=forms.HiddenInput)
    code = forms.RegexField(
        label="Code from the e-mail",
        regex=r"^\s*[0-9]{6}\s*$",
        max_length=12,
        error_messages={"invalid": "Enter the 6 digits from the e-mail."},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )


class TotpCodeForm(forms.Form):
    """A code from the person's authenticator app."""

    code = forms.RegexField(
        label="Code from your authenticator app",
        regex=r"^\s*[0-9]{3}\s?[0-9]{3}\s*$",
        max_length=12,
        error_messages={
            "invalid": "Enter the 6 digits your authenticator app shows.",
            "required": "Enter the 6 digits your authenticator app shows.",
        },
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )


class RecoveryCodeForm(forms.Form):
    """One of the person's recovery codes (xxxxx-xxxxx)."""

    recovery_code = forms.RegexField(
        label="Recovery code",
        regex=r"^\s*[A-Za-z0-9]{5}[\s-]?[A-Za-z0-9]{5}\s*$",
        max_length=16,
        error_messages={
            "invalid": "A recovery code has 10 letters and digits, like abcde-23456.",
            "required": "Enter one of your recovery codes.",
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class PasskeyForm(forms.Form):
    """A passkey's answer (the browser's JSON), and for a new one its name."""

    credential = forms.CharField(max_length=20000, widget=forms.HiddenInput)
    name = forms.CharField(
        label="Name",
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Work laptop", "autocomplete": "off"}),
    )


class EmailAddressForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class NewPasswordForm(forms.Form):
    password = forms.CharField(
        label="New password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )
    password_confirm = forms.CharField(
        label="Confirm the new password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", "The two passwords do not match.")
        if password:
            try:
                password_validation.validate_password(password, self.user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class ProfileForm(forms.ModelForm):
    """The person's profile: OpenID Connect's profile claims."""

    class Meta:
        model = User
        fields = ["name", "given_name", "family_name", "picture", "locale", "zoneinfo"]
        labels = {
            "name": "Full name",
            "given_name": "Given name",
            "family_name": "Family name",
            "picture": "Picture URL",
            "locale": "Language",
            "zoneinfo": "Time zone",
        }
        help_texts = {
            "picture": "An https address of an image of you.",
            "locale": "A language tag, such as en-GB or fr.",
            "zoneinfo": "Such as Europe/Paris or America/New_York.",
        }

    picture = forms.URLField(
        label="Picture URL",
        required=False,
        max_length=2048,
        assume_scheme="https",
        help_text="An https address of an image of you.",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    def clean_picture(self) -> str:
        value = self.cleaned_data["picture"]
        if value and not value.startswith("https://"):
            raise forms.ValidationError("Use an https:// address.")
        return value

    def clean_locale(self) -> str:
        value = self.cleaned_data["locale"].strip()
        if value and not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
            raise forms.ValidationError("Use a language tag such as en, en-GB or pt-BR.")
        return value

    def clean_zoneinfo(self) -> str:
        value = self.cleaned_data["zoneinfo"].strip()
        if value and value not in zoneinfo.available_timezones():
            raise forms.ValidationError("Use a time zone name such as Europe/Paris.")
        return value


class ChangePasswordForm(NewPasswordForm):
    """A new password; the current one too, unless the person signed in a moment ago."""

    current_password = forms.CharField(
        label="Current password",
        strip=False,
        required=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    field_order = ["current_password", "password", "password_confirm"]

    def __init__(self, *args, user: User, recent: bool, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.recent = recent
        self.fields["password"].widget.attrs.pop("autofocus", None)
        if recent:
            del self.fields["current_password"]

    def clean_current_password(self) -> str:
        value = self.cleaned_data.get("current_password", "")
        if not self.recent and not self.user.check_password(value):
            raise forms.ValidationError("That is not your current password.")
        return value


class DeleteAccountForm(forms.Form):
    confirm_email = forms.CharField(label="Type your e-mail address to confirm", max_length=254)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm_email(self) -> str:
        value = self.cleaned_data["confirm_email"].strip().lower()
        if value != self.user.email:
            raise forms.ValidationError("That is not your e-mail address.")
        return value
