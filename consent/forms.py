from django import forms
from django.contrib.auth import authenticate


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    error_messages = {
        # One message for an unknown e-mail and a wrong password: no account enumeration.
        "invalid_login": "That e-mail address and password do not match an account.",
        "inactive": "This account is disabled.",
    }

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            self.user = authenticate(self.request, username=email.lower(), password=password)
            if self.user is None:
                raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        return cleaned


class ConsentForm(forms.Form):
    consent_challenge = forms.CharField(widget=forms.HiddenInput, max_length=64)

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
