"""What the protocol engine does when the identity layer withdraws a person's access, and after
each migrate (or a test's flush): the scope catalogue gets its built-in scopes and CIAM_SCOPES."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver

from ciam.accounts.signals import access_withdrawn
from ciam.oauth.scopes import seed
from ciam.oauth.tokens import tokens_revoke


@receiver(access_withdrawn)
def revoke_the_persons_tokens(sender, user, **kwargs) -> None:
    tokens_revoke(user=user)


@receiver(post_migrate)
def seed_the_scope_catalogue(sender, app_config=None, **kwargs) -> None:
    if app_config is not None and app_config.label == "oauth":
        seed()
