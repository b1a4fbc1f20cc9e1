import secrets

from django.core.management.base import BaseCommand

from ciam.accounts.models import User

DEMO_EMAIL = "admin@demo.user"


class Command(BaseCommand):
    help = "Create the demo administrator admin@demo.user (staff) and print its password once."

    def add_arguments(self, parser):
        parser.add_argument("--email", default=DEMO_EMAIL)

    def handle(self, *args, **opts):
        email = opts["email"].lower()
        if User.objects.filter(email=email).exists():
            self.stdout.write(
                f"Demo admin {email} already exists (its password was printed when it was created; "
                f"reset it with: python manage.py changepassword {email})."
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(email=email, password=password, email_verified=True, name="Demo Admin")
        bar = "=" * 64
        self.stdout.write(
            f"{bar}\nDemo admin created (shown once):\n  e-mail:   {email}\n  password: {password}\n{bar}"
        )
