from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from ciam.api.services import admin_token_create


class Command(BaseCommand):
    help = "Create an admin API token (ciam_pat_...). The token is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the token is for, e.g. 'CI pipeline'.")

    def handle(self, *args, **opts):
        try:
            record, token = admin_token_create(actor=None, name=opts["name"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.message_dict.get("name", exc.messages))) from exc
        self.stderr.write(f"Admin API token '{record.name}' created. It is shown once; store it now:")
        self.stdout.write(token)
