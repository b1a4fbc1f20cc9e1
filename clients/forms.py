"""The console's client form. It shapes input; its clean() applies clients.rules, the rules the
services and the admin API apply, and puts their field errors back on the matching inputs (same
names as the API, Hydra's)."""

from typing import Any, NamedTuple

from django import forms
from django.core.exceptions import ValidationError

from ciam.oauth.scopes import known_scopes
from clients import rules
from clients.models import AccessTokenStrategy, Client, GrantType, ResponseType

# Scopes that only mean something when a person signs in (not for a client acting for itself).
PERSON_SCOPES = ("openid", "profile", "email", "offline_access", "offline")
# Grant types through which a person signs in.
PERSON_GRANTS = (GrantType.AUTHORIZATION_CODE.value, GrantType.DEVICE_CODE.value)


class Preset(NamedTuple):
    title: str
    summary: str
    values: dict[str, Any]


# New Client starts from one of these; every value stays editable. The form's JavaScript applies
# the same values in place (they are given to it as JSON).
PRESETS: dict[str, Preset] = {
    "web": Preset(
        "Web app",
        "A server-side application that signs people in and keeps a secret.",
        {
            "client_type": "confidential",
            "grant_types": [GrantType.AUTHORIZATION_CODE.value, GrantType.REFRESH_TOKEN.value],
            "scopes": ["openid", "profile", "email", "offline_access"],
            "pkce_required": True,
            "token_endpoint_auth_method": "client_secret_basic",
        },
    ),
    "public": Preset(
        "Single-page, mobile or CLI",
        "A public application: no secret, PKCE always required.",
        {
            "client_type": "public",
            "grant_types": [GrantType.AUTHORIZATION_CODE.value, GrantType.REFRESH_TOKEN.value],
            "scopes": ["openid", "profile", "email", "offline_access"],
            "pkce_required": True,
            "token_endpoint_auth_method": "",
        },
    ),
    "m2m": Preset(
        "Machine-to-machine",
        "A service calling your APIs for itself, with client credentials.",
        {
            "client_type": "confidential",
            "grant_types": [GrantType.CLIENT_CREDENTIALS.value],
            "scopes": [],
            "pkce_required": False,
            "token_endpoint_auth_method": "client_secret_basic",
        },
    ),
    "device": Preset(
        "Device",
        "A TV, console or command line that signs people in with a code shown on screen.",
        {
            "client_type": "public",
            "grant_types": [GrantType.DEVICE_CODE.value, GrantType.REFRESH_TOKEN.value],
            "scopes": ["openid", "profile", "offline_access"],
            "pkce_required": True,
            "token_endpoint_auth_method": "",
        },
    ),
}
DEFAULT_PRESET = "web"


def _lines(value: str) -> list[str]:
    return [item for item in (value or "").replace(",", " ").split() if item]


class MultiValueInput(forms.Widget):
    """Several inputs of one name (redirect URI rows): rendered by the template, read as a list."""

    def value_from_datadict(self, data, files, name):
        return [v for v in data.getlist(name) if v.strip()] if hasattr(data, "getlist") else []


class ListField(forms.Field):
    widget = MultiValueInput

    def to_python(self, value):
        return [v.strip() for v in (value or []) if v and v.strip()]


class ClientForm(forms.Form):
    client_name = forms.CharField(label="Name", max_length=255)
    client_type = forms.ChoiceField(
        label="Client type",
        choices=[("public", "Public"), ("confidential", "Confidential")],
        widget=forms.RadioSelect,
        initial="confidential",
    )
    redirect_uris = ListField(label="Redirect URIs", required=False)
    grant_types = forms.MultipleChoiceField(
        label="Allowed grant types",
        choices=GrantType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=PRESETS[DEFAULT_PRESET].values["grant_types"],
    )
    scopes = forms.MultipleChoiceField(
        label="Allowed scopes",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=PRESETS[DEFAULT_PRESET].values["scopes"],
    )
    extra_scopes = forms.CharField(
        label="New scopes",
        required=False,
        max_length=2000,
        help_text="Scopes not in the catalogue yet, separated by spaces; they are added to it.",
    )
    pkce_required = forms.BooleanField(label="Require PKCE (S256)", required=False, initial=True)
    require_mfa = forms.BooleanField(label="Require multi-factor", required=False)
    token_endpoint_auth_method = forms.ChoiceField(
        label="Token endpoint authentication",
        choices=[
            ("client_secret_basic", "HTTP Basic (client_secret_basic)"),
            ("client_secret_post", "Form body (client_secret_post)"),
        ],
        required=False,
    )
    post_logout_redirect_uris = forms.CharField(
        label="Post-logout redirect URIs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line.",
    )
    allowed_cors_origins = forms.CharField(
        label="Allowed CORS origins",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Origins (https://app.example.com) that may call the token "
        "and userinfo endpoints from a browser. One per line.",
    )
    audience = forms.CharField(
        label="Audience",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="APIs the access tokens are for (the aud claim). One per line.",
    )
    skip_consent = forms.BooleanField(label="Skip consent (first-party application)", required=False)
    access_token_strategy = forms.ChoiceField(
        label="Access token format",
        choices=AccessTokenStrategy.choices,
        widget=forms.RadioSelect,
        initial=AccessTokenStrategy.OPAQUE,
    )
    access_token_lifespan = forms.IntegerField(
        label="Access token lifespan (s)", required=False, min_value=60
    )
    refresh_token_lifespan = forms.IntegerField(
        label="Refresh token idle lifespan (s)", required=False, min_value=60
    )
    id_token_lifespan = forms.IntegerField(label="ID token lifespan (s)", required=False, min_value=60)
    owner = forms.CharField(label="Owner", required=False, max_length=255)
    contacts = forms.CharField(
        label="Contacts",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E-mail addresses, one per line.",
    )
    client_uri = forms.CharField(label="Home page", required=False, max_length=2048)
    logo_uri = forms.CharField(label="Logo URL", required=False, max_length=2048)
    policy_uri = forms.CharField(label="Privacy policy URL", required=False, max_length=2048)
    tos_uri = forms.CharField(label="Terms of service URL", required=False, max_length=2048)
    metadata = forms.JSONField(
        label="Metadata (JSON)",
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
    )
    revision = forms.IntegerField(required=False, widget=forms.HiddenInput)

    # Service error keys that are not form fields of the same name.
    SERVICE_FIELD = {"scope": "scopes", "client_secret": None, "client_id": None}

    # The order the page shows the fields in: the first one in error gets the focus.
    PAGE_ORDER = (
        "client_name",
        "owner",
        "client_type",
        "redirect_uris",
        "post_logout_redirect_uris",
        "allowed_cors_origins",
        "grant_types",
        "scopes",
        "extra_scopes",
        "pkce_required",
        "require_mfa",
        "token_endpoint_auth_method",
        "access_token_strategy",
        "access_token_lifespan",
        "refresh_token_lifespan",
        "id_token_lifespan",
        "audience",
        "client_uri",
        "logo_uri",
        "policy_uri",
        "tos_uri",
        "contacts",
        "metadata",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.catalogue = known_scopes()
        self.fields["scopes"].choices = [(name, name) for name in self.catalogue]

    @classmethod
    def initial_for_preset(cls, name: str) -> dict:
        """The New Client form's starting values for the preset `name` (the default one if unknown)."""
        return dict(PRESETS.get(name, PRESETS[DEFAULT_PRESET]).values)

    def first_error(self) -> str | None:
        """The field in error the page shows first, or None. It gets the focus (`autofocus`,
        which needs no script)."""
        first = next((name for name in self.PAGE_ORDER if name in self.errors), None)
        if first is not None and first != "redirect_uris":  # those rows are the template's
            self.fields[first].widget.attrs["autofocus"] = True
        return first

    def current(self, name: str) -> Any:
        """What the page shows for field `name`: the submitted value, else the initial one."""
        return self[name].value()

    def scope_rows(self) -> list[dict]:
        """The catalogue's scopes as the page lists them: checkbox, description, person's or not."""
        return [
            {
                "choice": choice,
                "description": self.catalogue.get(choice.data["value"]) or "",
                "person": choice.data["value"] in PERSON_SCOPES,
            }
            for choice in self["scopes"]
        ]

    def signs_people_in(self) -> bool:
        return bool(set(self.current("grant_types") or []) & set(PERSON_GRANTS))

    def uses_redirects(self) -> bool:
        """Redirect URIs (and PKCE) only matter to the authorization code grant."""
        return GrantType.AUTHORIZATION_CODE.value in (self.current("grant_types") or [])

    @classmethod
    def initial_for(cls, client: Client) -> dict:
        known = set(known_scopes())
        return {
            "client_name": client.name,
            "client_type": "public" if client.is_public else "confidential",
            "redirect_uris": client.redirect_uri_list,
            "grant_types": client.grant_types,
            "scopes": [s for s in client.scopes if s in known],
            "extra_scopes": " ".join(s for s in client.scopes if s not in known),
            "pkce_required": client.pkce_required,
            "require_mfa": client.require_mfa,
            "token_endpoint_auth_method": client.token_endpoint_auth_method if not client.is_public else "",
            "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uri_list),
            "allowed_cors_origins": "\n".join(client.allowed_cors_origins),
            "audience": "\n".join(client.audience),
            "skip_consent": client.skip_authorization,
            "access_token_strategy": client.access_token_strategy,
            "access_token_lifespan": client.access_token_lifespan,
            "refresh_token_lifespan": client.refresh_token_lifespan,
            "id_token_lifespan": client.id_token_lifespan,
            "owner": client.owner,
            "contacts": "\n".join(client.contacts),
            "client_uri": client.client_uri,
            "logo_uri": client.logo_uri,
            "policy_uri": client.policy_uri,
            "tos_uri": client.tos_uri,
            "metadata": client.metadata,
            "revision": client.revision,
        }

    def clean(self):
        cleaned = super().clean()
        # The client's rules (the services', the API's), on what the fields could clean: their
        # problems are reported with the fields' own, all at once.
        try:
            rules.checked_client(self.service_fields())
        except ValidationError as exc:
            self.add_service_errors(exc)
        return cleaned

    def service_fields(self) -> dict:
        """cleaned_data in the services' (Hydra's) vocabulary (a field that did not clean is left
        at its default)."""
        data = self.cleaned_data
        public = data.get("client_type") == "public"
        ticked = list(data.get("scopes") or [])
        scopes = ticked + [s for s in _lines(data.get("extra_scopes", "")) if s not in ticked]
        grant_types = list(data.get("grant_types") or [])
        fields = {
            "client_name": data.get("client_name", ""),
            "token_endpoint_auth_method": "none"
            if public
            else (data.get("token_endpoint_auth_method") or "client_secret_basic"),
            "redirect_uris": data.get("redirect_uris", []),
            "grant_types": grant_types,
            "scope": " ".join(scopes),
            # The only response type there is follows the grant type that uses it.
            "response_types": [ResponseType.CODE.value]
            if GrantType.AUTHORIZATION_CODE.value in grant_types
            else [],
            "pkce_required": True if public else data.get("pkce_required", True),
            "post_logout_redirect_uris": _lines(data.get("post_logout_redirect_uris", "")),
            "allowed_cors_origins": _lines(data.get("allowed_cors_origins", "")),
            "audience": _lines(data.get("audience", "")),
            "skip_consent": data.get("skip_consent", False),
            "require_mfa": data.get("require_mfa", False),
            "access_token_strategy": data.get("access_token_strategy")
            or rules.CLIENT_FIELDS["access_token_strategy"],
            "owner": data.get("owner", ""),
            "contacts": _lines(data.get("contacts", "")),
            "client_uri": data.get("client_uri", ""),
            "logo_uri": data.get("logo_uri", ""),
            "policy_uri": data.get("policy_uri", ""),
            "tos_uri": data.get("tos_uri", ""),
            "metadata": data.get("metadata") if data.get("metadata") is not None else {},
        }
        for lifespan in ("access_token_lifespan", "refresh_token_lifespan", "id_token_lifespan"):
            fields[lifespan] = data.get(lifespan)
        return fields

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the rules' errors (Hydra's field names) on the matching inputs; an input already
        in error keeps only its own messages."""
        typed = _lines(self.cleaned_data.get("extra_scopes", ""))
        own = set(self.errors)  # fields that did not clean: their own problem comes first
        for field, messages in error.message_dict.items():
            for message in messages:
                target = self.SERVICE_FIELD.get(field, field)
                if field == "token_endpoint_auth_method" and self.cleaned_data.get("client_type") == "public":
                    target = "client_type"
                if field == "scope" and any(f"'{scope}'" in message for scope in typed):
                    target = "extra_scopes"  # under the input that holds the scope
                if target not in self.fields:
                    target = None
                if target in own:
                    continue
                self.add_error(target, message)

    def redirect_uri_errors(self) -> dict[str, list[str]]:
        """Errors per redirect URI (the service names the URI in each message)."""
        per_uri: dict[str, list[str]] = {}
        for message in self.errors.get("redirect_uris", []):
            for uri in self.data.getlist("redirect_uris") if hasattr(self.data, "getlist") else []:
                if f"'{uri}'" in message:
                    per_uri.setdefault(uri, []).append(str(message))
        return per_uri


class DeleteClientForm(forms.Form):
    confirm_name = forms.CharField(label="Type the client's name to confirm", max_length=255)

    def __init__(self, *args, client: Client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client

    def clean_confirm_name(self) -> str:
        value = self.cleaned_data["confirm_name"]
        if value != (self.client.name or self.client.client_id):
            raise ValidationError("That is not this client's name.")
        return value
