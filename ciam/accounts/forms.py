"""Forms of the person's sign-in pages and of the console's user pages."""

from django import forms
from django.contrib.auth import password_validation

from ciam.accounts.models import User


class LoginForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    remember = forms.BooleanField(label="Keep me signed in", required=False)

    error_messages = {
        # One message for an unknown e-mail and a wrong password: no account enumeration.
        "invalid_login": "That e-mail address and password do not match an account.",
        "locked": "This account is locked. Contact your administrator.",
    }

    def focus_password(self) -> None:
        """Put the cursor in the password field (the e-mail is already there: a hint, a retry)."""
        self.fields["email"].widget.attrs.pop("autofocus", None)
        self.fields["password"].widget.attrs["autofocus"] = True


class RegistrationForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_confirm = forms.CharField(
        label="Confirm password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    error_messages = {
        "password_mismatch": "The two passwords do not match.",
    }

    def clean_email(self) -> str:
        # Whether the address has an account is not said here (nor anywhere): both get "check
        # your e-mail", and the owner of a taken address hears of the attempt.
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error(
                "password_confirm",
                forms.ValidationError(self.error_messages["password_mismatch"], code="password_mismatch"),
            )
        if password:
            # Every password problem at once, whatever else is wrong with the form (an e-mail
            # that is invalid or taken included).
            try:
                password_validation.validate_password(password, User(email=cleaned.get("email") or ""))
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class UserCreateForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254)
    name = forms.CharField(label="Full name", max_length=200, required=False)
    password = forms.CharField(
        label="Password",
        strip=False,
        required=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to let the person set one later (they cannot sign in until then).",
    )
    is_staff = forms.BooleanField(label="Administrator (may use this console)", required=False)
    email_verified = forms.BooleanField(label="E-mail address verified", required=False)


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        label="New password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class DeleteUserForm(forms.Form):
    confirm_email = forms.CharField(label="Type the e-mail address to confirm", max_length=254)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm_email(self) -> str:
        value = self.cleaned_data["confirm_email"].strip().lower()
        if value != self.user.email:
            raise forms.ValidationError("That is not this account's e-mail address.")
        return value


class EmailCodeForm(forms.Form):
    """The 6-digit code from a message, for the flow the page is about."""

    flow = forms.UUIDField(widget=forms.HiddenInput)
    code = forms.RegexField(
        label="Code from the e-mail",
        regex=r"^\s*[0-9]{6}\s*$",
        max_length=12,
        error_messages={"invalid": "Enter the 6 digits from the e-mail."},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )


class EmailAddressForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class NewPasswordForm(forms.Form):
    password = forms.CharField(
        label="New password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )
    password_confirm = forms.CharField(
        label="Confirm the new password",
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", "The two passwords do not match.")
        if password:
            try:
                password_validation.validate_password(password, self.user)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned
