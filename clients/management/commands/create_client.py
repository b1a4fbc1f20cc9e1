import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clients.services import client_create


def _split(values: list[str] | None) -> list[str]:
    """Repeatable flags that also accept comma- or space-separated values."""
    result: list[str] = []
    for value in values or []:
        result.extend(v for v in value.replace(",", " ").split() if v)
    return result


class Command(BaseCommand):
    help = (
        "Register an OAuth2 client. Prints its client ID and, for a confidential client, its secret (once)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", default="", help="Client name shown on the consent page.")
        parser.add_argument("--id", dest="client_id", help="Client ID to use (default: generated c-...).")
        parser.add_argument(
            "--secret", help="A chosen secret (24+ characters, 8+ different; default: generated)."
        )
        parser.add_argument(
            "--grant-type",
            action="append",
            help="authorization_code, refresh_token, "
            "client_credentials, urn:ietf:params:oauth:grant-type:device_code (repeatable).",
        )
        parser.add_argument("--response-type", action="append", help="code (repeatable).")
        parser.add_argument(
            "--scope", action="append", help="Allowed scopes (space/comma separated, repeatable)."
        )
        parser.add_argument("--redirect-uri", action="append", help="Redirect URI (repeatable).")
        parser.add_argument(
            "--post-logout-redirect-uri", action="append", help="Post-logout URI (repeatable)."
        )
        parser.add_argument("--allowed-cors-origin", action="append", help="CORS origin (repeatable).")
        parser.add_argument("--audience", action="append", help="Audience (repeatable).")
        parser.add_argument(
            "--token-endpoint-auth-method",
            default="client_secret_basic",
            choices=["none", "client_secret_basic", "client_secret_post"],
        )
        parser.add_argument("--access-token-strategy", default="opaque", choices=["opaque", "jwt"])
        parser.add_argument("--owner", default="")
        parser.add_argument("--skip-consent", action="store_true", help="First-party: never show consent.")
        parser.add_argument(
            "--no-pkce",
            action="store_true",
            help="Do not require PKCE (confidential clients only; public clients always use it).",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **opts):
        try:
            result = client_create(
                actor_label="cli:create_client",
                client_id=opts["client_id"],
                client_secret=opts["secret"],
                client_name=opts["name"],
                grant_types=_split(opts["grant_type"]),
                response_types=_split(opts["response_type"]),
                scope=" ".join(_split(opts["scope"])),
                redirect_uris=_split(opts["redirect_uri"]),
                post_logout_redirect_uris=_split(opts["post_logout_redirect_uri"]),
                allowed_cors_origins=_split(opts["allowed_cors_origin"]),
                audience=_split(opts["audience"]),
                token_endpoint_auth_method=opts["token_endpoint_auth_method"],
                access_token_strategy=opts["access_token_strategy"],
                owner=opts["owner"],
                skip_consent=opts["skip_consent"],
                pkce_required=not opts["no_pkce"],
            )
        except ValidationError as exc:
            lines = [f"  {field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()]
            raise CommandError("The client was not created:\n" + "\n".join(lines)) from exc
        client = result.client
        if opts["format"] == "json":
            payload = {"client_id": client.client_id, "client_name": client.name}
            if result.client_secret:
                payload["client_secret"] = result.client_secret
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(f"CLIENT ID\t{client.client_id}")
        if result.client_secret:
            self.stdout.write(f"CLIENT SECRET\t{result.client_secret}")
            self.stderr.write("The secret is shown once; store it now.")
