"""Signals of the identity layer, for the layers above it (dependencies point one way)."""

from django.dispatch import Signal

# Sent with `user=` when a person's access must end everywhere: locked, deactivated or deleted by
# an administrator. Sessions are ended here; receivers end what they issued (ciam.oauth revokes
# the person's tokens). Sent inside the service's transaction, so both happen or neither does.
access_withdrawn = Signal()
