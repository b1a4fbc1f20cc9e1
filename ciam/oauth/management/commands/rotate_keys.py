from django.core.management.base import BaseCommand, CommandError

from ciam.oauth.keys import rotate_signing_keys
from ciam.oauth.models import SigningKey


class Command(BaseCommand):
    help = (
        "Create a new signing key and sign with it from now on. Older keys stay published in the "
        "JWKS until every token they signed has expired."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--algorithm",
            choices=SigningKey.Algorithm.values,
            help="RS256 (default, or CIAM_SIGNING_ALGORITHM) or ES256.",
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="Only create a key if the deployment has no active one."
        )

    def handle(self, *args, **opts):
        if opts["if_missing"] and SigningKey.objects.filter(retired_at__isnull=True).exists():
            self.stdout.write("An active signing key exists; nothing to do.")
            return
        try:
            key = rotate_signing_keys(algorithm=opts["algorithm"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Signing with {key.algorithm} key {key.kid}")
