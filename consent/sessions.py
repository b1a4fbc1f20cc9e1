"""Django's database sessions, with fewer round trips on the sign-in path.

Every sign-in creates a session (a new key: no fixation) and saves it again at the end of the
request; Django's store spends six statements on that. Two of its precautions cost round trips
without protecting anything here:

- A new key is not looked up before use: 32 random characters from 36 (~165 bits) do not
  collide, and the INSERT refuses a duplicate anyway (then `create()` draws another key).
- Outside a transaction, the single INSERT or UPDATE is atomic by itself: no BEGIN/COMMIT
  around it. Inside one, Django's own savepoint-protected save is used unchanged.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import DatabaseError, IntegrityError, router, transaction
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def save(self, must_create: bool = False) -> None:
        using = router.db_for_write(self.model)
        if self.session_key is None or transaction.get_connection(using).in_atomic_block:
            return super().save(must_create=must_create)
        obj = self.create_model_instance(self._get_session(no_load=must_create))
        try:
            obj.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError as exc:
            if must_create:
                raise CreateError from exc
            raise
        except DatabaseError as exc:
            if not must_create:
                raise UpdateError from exc
            raise
