"""Forms of the consent and device pages."""

from django import forms

from ciam.oauth.scopes import descriptions


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


def scope_rows(requested: list[str], ticked: set[str] | None = None) -> list[dict]:
    """The consent page's checkboxes: every requested scope in plain words, `openid` fixed; ticked
    as the person left them (all of them on first display)."""
    described = descriptions(requested)
    ticked = set(requested) if ticked is None else ticked
    return [
        {
            "name": s,
            "description": described[s],
            "fixed": s == "openid",
            "checked": s == "openid" or s in ticked,
        }
        for s in requested
    ]
