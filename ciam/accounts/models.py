import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from ciam.oauth.compiled import CompiledLookup


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username: str) -> "User":
        # E-mail addresses are stored lower-cased; logins are case-insensitive.
        email = (username or "").strip().lower()
        if self._db not in (None, "default"):
            return self.get(email=email)
        # Every password sign-in: the query compiled once per connection (ciam.oauth.compiled).
        user = _USER_BY_EMAIL.get(email)
        if user is None:
            raise self.model.DoesNotExist(f"No user with the e-mail address {email!r}.")
        return user


class User(AbstractBaseUser, PermissionsMixin):
    """An identity: the person who signs in. The e-mail address is the login.

    The primary key is a random UUID, used as the OpenID Connect `sub`: it reveals nothing
    about how many users exist or when this one signed up.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("e-mail address", max_length=254, unique=True)
    email_verified = models.BooleanField(default=False)
    name = models.CharField(max_length=200, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Staff users may sign in to the admin console.")
    is_active = models.BooleanField(default=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.name or " ".join(p for p in (self.given_name, self.family_name) if p) or self.email

    def get_short_name(self) -> str:
        return self.given_name or self.email


_USER_BY_EMAIL = CompiledLookup(lambda email: User._default_manager.filter(email=email))
