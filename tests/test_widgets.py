"""ciam.widgets write exactly the HTML of Django's widget templates, for every state the sign-in
form can be in."""

import pytest
from django import forms

from ciam import widgets
from consent.forms import LoginForm

PAIRS = [
    (widgets.EmailInput, forms.EmailInput),
    (widgets.PasswordInput, forms.PasswordInput),
    (widgets.CheckboxInput, forms.CheckboxInput),
]
VALUES = [None, "", "alice@example.com", 'a "quoted" <b>value</b> & more', True, False, 42]
ATTRS = [
    None,
    {"autocomplete": "username", "autofocus": True, "disabled": False},
    {"aria-describedby": "id_x_error", "aria-invalid": "true", "data-x": '"><script>', "required": True},
]


@pytest.mark.parametrize(("ours", "djangos"), PAIRS, ids=lambda c: getattr(c, "__name__", ""))
@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("attrs", ATTRS)
def test_the_html_is_the_templates(ours, djangos, value, attrs):
    base = {"class": "input", "maxlength": 254}
    assert ours(attrs=base).render("field", value, attrs) == djangos(attrs=base).render("field", value, attrs)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"email": "not an e-mail", "password": "", "remember": "on"},
        {"email": "a@b.c", "password": "x"},
    ],
)
def test_the_sign_in_form_renders_as_with_djangos_widgets(data):
    class Reference(LoginForm):
        pass

    Reference.base_fields = dict(LoginForm.base_fields)
    for name, widget in (("email", forms.EmailInput), ("password", forms.PasswordInput)):
        field = LoginForm.base_fields[name]
        Reference.base_fields[name] = type(field)(
            label=field.label, max_length=field.max_length, widget=widget(attrs=dict(field.widget.attrs))
        )
    Reference.base_fields["remember"] = forms.BooleanField(label="Keep me signed in", required=False)
    ours, reference = LoginForm(data), Reference(data)
    if data is not None:
        ours.is_valid(), reference.is_valid()
    for name in ("email", "password", "remember"):
        assert str(ours[name]) == str(reference[name])
