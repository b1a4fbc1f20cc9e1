"""What the protocol engine does when the identity layer withdraws a person's access."""

from django.dispatch import receiver

from ciam.accounts.signals import access_withdrawn
from ciam.oauth.tokens import tokens_revoke


@receiver(access_withdrawn)
def revoke_the_persons_tokens(sender, user, **kwargs) -> None:
    tokens_revoke(user=user)
