"""Django's database sessions, with fewer round trips on the sign-in path.

Every sign-in creates a session (a new key: no fixation) and saves it again at the end of the
request; Django's store spends six statements on that. Three of its precautions cost round trips
without protecting anything here:

- A new key is not looked up before use: 32 random characters from 36 (~165 bits) do not
  collide, and the INSERT refuses a duplicate anyway (then another key is drawn).
- A new key's row is not written at once and then rewritten by the save at the end of the
  request: `create()` only draws the key, and the next save (the session middleware's, as the
  response leaves) writes the row with one INSERT. Nothing reads a session's row back within the
  request that made it; a request that fails before its response saves nothing, so its
  session never existed (no cookie would have named it either).
- Outside a transaction, the single INSERT or UPDATE is atomic by itself: no BEGIN/COMMIT
  around it. Inside one, Django's own savepoint-protected save is used unchanged.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import DatabaseError, IntegrityError, router, transaction
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    _row_pending = False  # a key drawn by create() whose row the next save inserts

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def create(self) -> None:
        self._session_key = self._get_new_session_key()
        self._row_pending = True
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
        while True:
            try:
                self._write(must_create=must_create or self._row_pending)
            except CreateError:
                if not self._row_pending:
                    raise
                self._session_key = self._get_new_session_key()  # taken: draw another
                continue
            self._row_pending = False
            return

    def _write(self, *, must_create: bool) -> None:
        using = router.db_for_write(self.model)
        if transaction.get_connection(using).in_atomic_block:
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
