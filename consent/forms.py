from django import forms
from django.contrib.auth import password_validation

from ciam import widgets
from ciam.accounts.models import User


class LoginForm(forms.Form):
    # The sign-in page is on every sign-in flow: its inputs skip the template engine (ciam.widgets).
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=widgets.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1024,
        widget=widgets.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    remember = forms.BooleanField(label="Keep me signed in", required=False, widget=widgets.CheckboxInput)

    error_messages = {
        # One message for an unknown e-mail and a wrong password: no account enumeration.
        "invalid_login": "That e-mail address and password do not match an account.",
        "locked": "This account is locked. Contact your administrator.",
    }


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
        "duplicate_email": "An account with this e-mail address already exists. Sign in instead.",
        "password_mismatch": "The two passwords do not match.",
    }

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError(self.error_messages["duplicate_email"], code="duplicate_email")
        return email

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error(
                "password_confirm",
                forms.ValidationError(self.error_messages["password_mismatch"], code="password_mismatch"),
            )
        if password and cleaned.get("email"):
            try:
                password_validation.validate_password(password, User(email=cleaned["email"]))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class ConsentForm(forms.Form):
    consent_challenge = forms.CharField(widget=forms.HiddenInput, max_length=64)
    remember = forms.BooleanField(required=False)

    error_messages = {
        "nothing_granted": "Choose at least one permission, or select Deny.",
    }

    def __init__(self, *args, requested_scopes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.requested_scopes = requested_scopes

    def granted_scopes(self) -> list[str]:
        """Ticked scopes, limited to those requested (a forged extra one is ignored); `openid`
        cannot be unticked."""
        ticked = set(self.data.getlist("grant_scope")) if hasattr(self.data, "getlist") else set()
        if "openid" in self.requested_scopes:
            ticked.add("openid")
        return [s for s in self.requested_scopes if s in ticked]

    def clean(self):
        cleaned = super().clean()
        # A request for scopes with none of them granted would issue a token good for nothing.
        if self.requested_scopes and not self.granted_scopes():
            raise forms.ValidationError(self.error_messages["nothing_granted"], code="nothing_granted")
        return cleaned


class UserCodeForm(forms.Form):
    user_code = forms.CharField(
        label="Code shown on your device",
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )
