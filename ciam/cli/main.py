"""`ciam`: the command line for the admin API, shaped like Ory Hydra's CLI.

    ciam VERB NOUN [...] [--endpoint URL] [--format table|json|json-pretty]

As with Hydra's CLI, the flags may come anywhere on the line. The endpoint comes from --endpoint
or CIAM_ENDPOINT (default http://localhost:8000); the admin token from CIAM_ADMIN_TOKEN. Talks
HTTP only: it needs no database and no Django settings.
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

DEFAULT_ENDPOINT = "http://localhost:8000"
TIMEOUT = 30
FORMATS = ("table", "json", "json-pretty")


class CliError(Exception):
    pass


# --- HTTP ----------------------------------------------------------------------------------------


class Api:
    def __init__(self, endpoint: str, token: str | None):
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.session = requests.Session()

    def _headers(self, admin: bool) -> dict:
        if not admin:
            return {}
        if not self.token:
            raise CliError(
                "Set CIAM_ADMIN_TOKEN to an admin API token (create one in the console, or with "
                "`python manage.py create_admin_token NAME`)."
            )
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, *, admin: bool = True, expect=(200,), **kwargs):
        try:
            response = self.session.request(
                method, self.endpoint + path, headers=self._headers(admin), timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise CliError(f"Cannot reach {self.endpoint}: {exc}") from exc
        if response.status_code not in expect:
            try:
                body = response.json()
                message = body.get("error_description") or body.get("error") or response.text
            except ValueError:
                message = response.text[:300]
            raise CliError(f"{method} {path} failed ({response.status_code}): {message}")
        return response


# --- Output --------------------------------------------------------------------------------------

CLIENT_COLUMNS = [
    ("CLIENT ID", "client_id"),
    ("CLIENT SECRET", "client_secret"),
    ("NAME", "client_name"),
    ("GRANT TYPES", "grant_types"),
    ("RESPONSE TYPES", "response_types"),
    ("SCOPE", "scope"),
    ("AUDIENCE", "audience"),
    ("REDIRECT URIS", "redirect_uris"),
    ("AUTH METHOD", "token_endpoint_auth_method"),
]


def write_json(data, fmt: str, out=None) -> None:
    """`json`: one line (as Hydra's CLI prints it, for scripts); `json-pretty`: indented."""
    out = out or sys.stdout
    out.write((json.dumps(data, indent=2) if fmt == "json-pretty" else json.dumps(data)) + "\n")


def _cell(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def print_rows(
    rows: list[dict], columns: list[tuple[str, str]], fmt: str, out=None, *, listing: bool = False
) -> None:
    """A table, or JSON: one object for a single-item command, an array for a listing."""
    out = out or sys.stdout
    if fmt != "table":
        write_json(rows if listing or len(rows) != 1 else rows[0], fmt, out)
        return
    if not rows:
        out.write("(none)\n")
        return
    columns = [(title, key) for title, key in columns if any(key in row for row in rows)]
    widths = [max(len(title), *(len(_cell(row.get(key))) for row in rows)) for title, key in columns]
    out.write(
        "  ".join(title.ljust(w) for (title, _), w in zip(columns, widths, strict=True)).rstrip() + "\n"
    )
    for row in rows:
        out.write(
            "  ".join(
                _cell(row.get(key)).ljust(w) for (_, key), w in zip(columns, widths, strict=True)
            ).rstrip()
            + "\n"
        )


def print_kv(data: dict, fmt: str, out=None) -> None:
    out = out or sys.stdout
    if fmt != "table":
        write_json(data, fmt, out)
        return
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        out.write(f"{key.upper().replace('_', ' ').ljust(width)}\t{_cell(value)}\n")


def progress(done: int, total: int, out=None) -> None:
    out = out or sys.stderr
    width = 30
    filled = int(width * done / total) if total else width
    out.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {done}/{total}")
    if done >= total:
        out.write("\n")
    out.flush()


# --- Commands ------------------------------------------------------------------------------------


def _split(values: list[str] | None) -> list[str]:
    return [item for value in values or [] for item in value.replace(",", " ").split() if item]


def client_body(args, *, only_given: bool) -> dict:
    """The OAuth2Client fields the flags set (Hydra's flag names)."""
    body: dict = {}
    mapping = [
        ("name", "client_name", None),
        ("owner", "owner", None),
        ("token_endpoint_auth_method", "token_endpoint_auth_method", None),
        ("client_uri", "client_uri", None),
        ("logo_uri", "logo_uri", None),
        ("policy_uri", "policy_uri", None),
        ("tos_uri", "tos_uri", None),
        ("access_token_strategy", "access_token_strategy", None),
    ]
    for flag, field, _ in mapping:
        value = getattr(args, flag, None)
        if value is not None:
            body[field] = value
    for flag, field in [
        ("grant_type", "grant_types"),
        ("response_type", "response_types"),
        ("redirect_uri", "redirect_uris"),
        ("audience", "audience"),
        ("post_logout_callback", "post_logout_redirect_uris"),
        ("allowed_cors_origin", "allowed_cors_origins"),
        ("contact", "contacts"),
    ]:
        value = getattr(args, flag, None)
        if value is not None:
            body[field] = _split(value)
    if getattr(args, "scope", None) is not None:
        body["scope"] = " ".join(_split(args.scope))
    if getattr(args, "skip_consent", None) is not None:
        body["skip_consent"] = args.skip_consent
    if getattr(args, "pkce_required", None) is not None:
        body["pkce_required"] = args.pkce_required
    if getattr(args, "require_mfa", None) is not None:
        body["require_mfa"] = args.require_mfa
    if getattr(args, "metadata", None) is not None:
        try:
            body["metadata"] = json.loads(args.metadata)
        except ValueError as exc:
            raise CliError(f"--metadata is not valid JSON: {exc}") from exc
    if not only_given:
        if getattr(args, "id", None):
            body["client_id"] = args.id
        if getattr(args, "secret", None):
            body["client_secret"] = args.secret
    return body


def cmd_create_client(api: Api, args) -> int:
    client = api.call(
        "POST", "/admin/clients", json=client_body(args, only_given=False), expect=(201,)
    ).json()
    print_rows([client], CLIENT_COLUMNS, args.format)
    return 0


def cmd_get_client(api: Api, args) -> int:
    rows = [api.call("GET", f"/admin/clients/{cid}").json() for cid in args.ids]
    print_rows(rows, CLIENT_COLUMNS, args.format)
    return 0


def cmd_list_clients(api: Api, args) -> int:
    params = {"page_size": args.page_size}
    if args.page_token:
        params["page_token"] = args.page_token
    response = api.call("GET", "/admin/clients", params=params)
    print_rows(response.json(), CLIENT_COLUMNS, args.format, listing=True)
    link = response.headers.get("Link", "")
    if 'rel="next"' in link and args.format == "table":
        token = parse_qs(urlsplit(link.split('rel="first",')[-1].split(">")[0].lstrip("<")).query).get(
            "page_token"
        )
        if token:
            sys.stderr.write(f"More clients: --page-token {token[0]}\n")
    return 0


def cmd_update_client(api: Api, args) -> int:
    """Changes only the fields given (JSON Patch), unlike Hydra 2's `update`, which resets the others."""
    body = client_body(args, only_given=True)
    if getattr(args, "secret", None):
        body["client_secret"] = args.secret
    if not body:
        raise CliError("Nothing to change: give at least one flag.")
    patch = [{"op": "replace", "path": f"/{key}", "value": value} for key, value in body.items()]
    client = api.call("PATCH", f"/admin/clients/{args.id}", json=patch).json()
    print_rows([client], CLIENT_COLUMNS, args.format)
    return 0


def cmd_delete_client(api: Api, args) -> int:
    for cid in args.ids:
        api.call("DELETE", f"/admin/clients/{cid}", expect=(204,))
        sys.stdout.write(f"{cid}\n")
    return 0


def cmd_rotate_secret(api: Api, args) -> int:
    client = api.call("POST", f"/admin/clients/{args.id}/secret").json()
    print_rows([client], CLIENT_COLUMNS[:3], args.format)
    return 0


def cmd_introspect_token(api: Api, args) -> int:
    data = {"token": args.token}
    if args.scope:
        data["scope"] = " ".join(_split(args.scope))
    print_kv(api.call("POST", "/admin/oauth2/introspect", data=data).json(), args.format)
    return 0


def _client_credentials(args) -> tuple[str, str | None]:
    client_id = args.client_id or os.environ.get("OAUTH2_CLIENT_ID")
    secret = args.client_secret or os.environ.get("OAUTH2_CLIENT_SECRET")
    if not client_id:
        raise CliError("Give --client-id (or set OAUTH2_CLIENT_ID).")
    return client_id, secret


def cmd_revoke_token(api: Api, args) -> int:
    client_id, secret = _client_credentials(args)
    auth = (client_id, secret) if secret else None
    data = {"token": args.token} if auth else {"token": args.token, "client_id": client_id}
    try:
        api.call("POST", "/oauth2/revoke", admin=False, data=data, auth=auth)
    except CliError as exc:
        if secret is None and ("401" in str(exc) or "authentication failed" in str(exc).lower()):
            raise CliError(
                f"The server refused {client_id} without a secret: a confidential client must "
                "authenticate. Give --client-secret (or set OAUTH2_CLIENT_SECRET)."
            ) from exc
        raise
    sys.stdout.write(f"Revoked (if it was {client_id}'s).\n")
    return 0


def _token_output(tokens: dict, fmt: str) -> None:
    if fmt != "table":
        write_json(tokens, fmt)
        return
    for key in ("access_token", "refresh_token", "id_token", "expires_in", "scope", "token_type"):
        if key in tokens:
            sys.stdout.write(f"{key.upper().replace('_', ' ')}\t{tokens[key]}\n")


def cmd_perform_client_credentials(api: Api, args) -> int:
    client_id, secret = _client_credentials(args)
    if not secret:
        raise CliError("Give --client-secret (or set OAUTH2_CLIENT_SECRET).")
    data = {"grant_type": "client_credentials"}
    if args.scope:
        data["scope"] = " ".join(_split(args.scope))
    if args.audience:
        data["audience"] = " ".join(_split(args.audience))
    _token_output(
        api.call("POST", "/oauth2/token", admin=False, data=data, auth=(client_id, secret)).json(),
        args.format,
    )
    return 0


def cmd_perform_authorization_code(api: Api, args) -> int:
    """Authorization code + PKCE with a local callback server, as `hydra perform authorization-code`."""
    client_id, secret = _client_credentials(args)
    redirect_uri = args.redirect or f"http://127.0.0.1:{args.port}/callback"
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(_split(args.scope)),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if args.prompt:
        params["prompt"] = args.prompt
    if args.max_age is not None:
        params["max_age"] = str(args.max_age)
    url = f"{api.endpoint}/oauth2/auth?{urlencode(params)}"

    received: dict = {}
    done = threading.Event()

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if urlsplit(self.path).path != urlsplit(redirect_uri).path:
                self.send_response(404)
                self.end_headers()
                return
            received.update(query)
            ok = "code" in query and query.get("state") == state
            body = (
                b"<h1>Signed in. You can close this window.</h1>"
                if ok
                else b"<h1>The sign-in did not complete; see the terminal.</h1>"
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)
            done.set()

        def log_message(self, *_):
            pass

    listen = urlsplit(redirect_uri)
    try:
        server = ThreadingHTTPServer((listen.hostname or "127.0.0.1", listen.port or args.port), Callback)
    except OSError as exc:
        raise CliError(f"Cannot listen on {listen.netloc}: {exc}") from exc
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write(f"Open this URL in a browser to sign in:\n{url}\n")
    sys.stdout.flush()
    if not args.no_open:
        webbrowser.open(url)
    try:
        if not done.wait(args.timeout):
            raise CliError(f"No callback within {args.timeout} seconds.")
    finally:
        server.shutdown()
        server.server_close()
    if received.get("state") != state:
        raise CliError("The callback's state does not match: refusing it.")
    if "error" in received:
        raise CliError(f"Authorization failed: {received['error']}: {received.get('error_description', '')}")
    data = {
        "grant_type": "authorization_code",
        "code": received["code"],
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    auth = (client_id, secret) if secret else None
    if not auth:
        data["client_id"] = client_id
    _token_output(api.call("POST", "/oauth2/token", admin=False, data=data, auth=auth).json(), args.format)
    return 0


def cmd_keys_rotate(api: Api, args) -> int:
    body = api.call(
        "POST", f"/admin/keys/{args.set}", json={"alg": args.alg, "use": "sig"}, expect=(201,)
    ).json()
    print_rows(body["keys"], [("KEY ID", "kid"), ("ALGORITHM", "alg"), ("USE", "use")], args.format)
    return 0


def cmd_import_clients(api: Api, args) -> int:
    """Create every client of a JSON file (an array, or one object); report each, continue on errors."""
    try:
        with open(args.file, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise CliError(f"Cannot read {args.file}: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    created, failed = [], []
    for index, item in enumerate(items, start=1):
        try:
            created.append(api.call("POST", "/admin/clients", json=item, expect=(201,)).json())
        except CliError as exc:
            failed.append(
                f"#{index} ({item.get('client_name', '?') if isinstance(item, dict) else '?'}): {exc}"
            )
        if len(items) > 1 and not args.quiet:
            progress(index, len(items))
    print_rows(created, CLIENT_COLUMNS[:3], args.format, listing=True)
    for message in failed:
        sys.stderr.write(f"Not imported: {message}\n")
    return 1 if failed else 0


# --- Parser --------------------------------------------------------------------------------------


def _bool(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise argparse.ArgumentTypeError("use true or false")


def _client_flags(parser: argparse.ArgumentParser, *, create: bool) -> None:
    parser.add_argument("--name")
    parser.add_argument("--grant-type", action="append", help="Repeatable, or comma-separated.")
    parser.add_argument("--response-type", action="append")
    parser.add_argument("--scope", action="append")
    parser.add_argument("--redirect-uri", action="append")
    parser.add_argument("--post-logout-callback", action="append")
    parser.add_argument("--allowed-cors-origin", action="append")
    parser.add_argument("--audience", action="append")
    parser.add_argument("--contact", action="append")
    parser.add_argument(
        "--token-endpoint-auth-method", choices=["none", "client_secret_basic", "client_secret_post"]
    )
    parser.add_argument("--access-token-strategy", choices=["opaque", "jwt"])
    parser.add_argument("--owner")
    parser.add_argument("--client-uri")
    parser.add_argument("--logo-uri")
    parser.add_argument("--policy-uri")
    parser.add_argument("--tos-uri")
    parser.add_argument("--metadata", help="A JSON object.")
    parser.add_argument("--skip-consent", nargs="?", const=True, type=_bool)
    parser.add_argument("--pkce-required", nargs="?", const=True, type=_bool)
    parser.add_argument("--require-mfa", nargs="?", const=True, type=_bool)
    parser.add_argument("--secret", help="A chosen secret (default: generated).")
    if create:
        parser.add_argument("--id", help="A chosen client ID (default: generated c-...).")


def cmd_version(api: Api, args) -> int:
    try:
        mine = package_version("ciam")
    except PackageNotFoundError:
        mine = "unknown"
    server = api.call("GET", "/version", admin=False).json().get("version", "unknown")
    if args.format != "table":
        write_json({"cli": mine, "server": server, "endpoint": api.endpoint}, args.format)
    else:
        sys.stdout.write(f"ciam CLI\t{mine}\nServer\t{server} ({api.endpoint})\n")
    return 0


def _global_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """--endpoint and --format: on the top-level parser with their defaults, and on every
    command (defaults suppressed, so a flag given before the command is not overwritten)."""

    def default(value):
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "-e",
        "--endpoint",
        default=default(os.environ.get("CIAM_ENDPOINT", DEFAULT_ENDPOINT)),
        help="Server URL (env CIAM_ENDPOINT).",
    )
    parser.add_argument("--format", choices=FORMATS, default=default("table"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ciam", description="Administer a CIAM server over its admin API.")
    _global_flags(parser, defaults=True)
    anywhere = argparse.ArgumentParser(add_help=False)
    _global_flags(anywhere, defaults=False)
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("version", parents=[anywhere], help="The CLI's and the server's versions.").set_defaults(
        func=cmd_version
    )

    nouns_of: dict[str, argparse._SubParsersAction] = {}

    def noun(verb: str, name: str, func, help_text: str, aliases=()):
        if verb not in nouns_of:
            nouns_of[verb] = verbs.add_parser(verb).add_subparsers(dest="noun", required=True)
        sub = nouns_of[verb].add_parser(name, help=help_text, aliases=list(aliases), parents=[anywhere])
        sub.set_defaults(func=func)
        return sub

    _client_flags(
        noun("create", "client", cmd_create_client, "Register a client.", ["oauth2-client"]), create=True
    )
    noun("get", "client", cmd_get_client, "Show clients.", ["oauth2-client"]).add_argument("ids", nargs="+")
    listing = noun("list", "clients", cmd_list_clients, "List clients.", ["oauth2-clients"])
    listing.add_argument("--page-size", type=int, default=100)
    listing.add_argument("--page-token")
    update = noun(
        "update", "client", cmd_update_client, "Change the given fields of a client.", ["oauth2-client"]
    )
    update.add_argument("id")
    _client_flags(update, create=False)
    noun("delete", "client", cmd_delete_client, "Delete clients.", ["oauth2-client"]).add_argument(
        "ids", nargs="+"
    )
    noun("rotate", "secret", cmd_rotate_secret, "Generate a new client secret.").add_argument("id")
    introspect = noun("introspect", "token", cmd_introspect_token, "Introspect a token (admin).")
    introspect.add_argument("token")
    introspect.add_argument("--scope", action="append")
    revoke = noun("revoke", "token", cmd_revoke_token, "Revoke a token as its client.")
    revoke.add_argument("token")
    for sub in (revoke,):
        sub.add_argument("--client-id")
        sub.add_argument("--client-secret")
    cc = noun("perform", "client-credentials", cmd_perform_client_credentials, "Get a token for a client.")
    cc.add_argument("--client-id")
    cc.add_argument("--client-secret")
    cc.add_argument("--scope", action="append")
    cc.add_argument("--audience", action="append")
    code = noun(
        "perform",
        "authorization-code",
        cmd_perform_authorization_code,
        "Sign in through a browser (authorization code + PKCE) and print the tokens.",
    )
    code.add_argument("--client-id")
    code.add_argument("--client-secret")
    code.add_argument("-p", "--port", type=int, default=4446)
    code.add_argument("--redirect", help="Redirect URI (default http://127.0.0.1:PORT/callback).")
    code.add_argument("--scope", action="append", default=None)
    code.add_argument("--prompt")
    code.add_argument("--max-age", type=int)
    code.add_argument("--no-open", action="store_true", help="Print the URL, do not open a browser.")
    code.add_argument("--timeout", type=int, default=300)
    keys = noun("keys", "rotate", cmd_keys_rotate, "Rotate the signing key.")
    keys.add_argument("--alg", choices=["RS256", "ES256"], default="RS256")
    keys.add_argument("--set", default="hydra.openid.id-token")
    importing = noun(
        "import", "clients", cmd_import_clients, "Create the clients of a JSON file.", ["oauth2-client"]
    )
    importing.add_argument("file")
    importing.add_argument("-q", "--quiet", action="store_true", help="No progress bar.")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "func", None) is cmd_perform_authorization_code and args.scope is None:
        args.scope = ["openid", "offline_access"]
    api = Api(args.endpoint, os.environ.get("CIAM_ADMIN_TOKEN"))
    try:
        return args.func(api, args)
    except CliError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
