"""Form inputs rendered in Python, for the pages on the sign-in path.

Django renders each widget through two templates (`input.html`, which includes `attrs.html`);
on the sign-in page that was a third of the page's rendering. These widgets write the same HTML
as those templates, from the same context (`get_context`: the id, `required`, `aria-invalid`,
`aria-describedby` and every other attribute Django adds), without the template engine. A test
compares their output with Django's templates for each widget and state.
"""

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe


def _attributes(attrs: dict) -> str:
    # attrs.html: False omits the attribute, True writes its name alone, anything else its value.
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        else:
            parts.append(f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    return "".join(parts)


class DirectInputMixin:
    """input.html, written directly."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{conditional_escape(str(widget["value"]))}"'
        return mark_safe(  # noqa: S308 - every part above is escaped
            f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
            f"{shown}{_attributes(widget['attrs'])}>"
        )


class EmailInput(DirectInputMixin, forms.EmailInput):
    pass


class PasswordInput(DirectInputMixin, forms.PasswordInput):
    pass


class CheckboxInput(DirectInputMixin, forms.CheckboxInput):
    pass
