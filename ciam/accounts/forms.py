from django import forms


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
