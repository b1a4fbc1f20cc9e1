"""ciam.oauth.authorize.decide: the authorization decision as a pure function, case by case."""

import pytest

from ciam.oauth.authorize import (
    INVALID_HINT,
    AskConsent,
    ErrorPage,
    Invalid,
    IssueCode,
    Person,
    Refuse,
    SignIn,
    Valid,
    decide,
    is_silent,
)

NOW = 1_800_000_000.0
CALLBACK = "https://app.example.com/cb"
ALICE = Person(subject="a1", email="alice@example.com", auth_time=int(NOW) - 100)


def valid(*, consented=False, scopes=("openid",)):
    return Valid(scopes=list(scopes), redirect_uri=CALLBACK, state="s1", consented=consented)


def decided(request=None, *, person=ALICE, hint=None, **params):
    return decide(request or valid(), params=params, person=person, hint_subject=hint, now=NOW)


def test_an_unknown_client_or_redirect_uri_is_an_error_page_never_a_redirect():
    assert decided(Invalid("invalid_client", "Unknown client.")) == ErrorPage(
        "invalid_client", "Unknown client."
    )


def test_other_invalid_requests_go_back_to_the_validated_redirect_uri():
    decision = decided(Invalid("invalid_scope", "No.", CALLBACK, "s1"))
    assert decision == Refuse("invalid_scope", "No.", CALLBACK, "s1")


def test_nobody_signed_in_signs_in_or_with_prompt_none_is_login_required():
    assert decided(person=None, login_hint="bob@example.com") == SignIn("bob@example.com", again=False)
    decision = decided(person=None, prompt="none")
    assert isinstance(decision, Refuse) and decision.error == "login_required"


@pytest.mark.parametrize(
    "params, error",
    [
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
    ],
)
def test_malformed_oidc_parameters_are_refused_to_the_client(params, error):
    decision = decided(**params)
    assert isinstance(decision, Refuse) and decision.error == error and decision.redirect_uri == CALLBACK


def test_a_consented_request_issues_a_code_and_another_asks():
    assert decided(valid(consented=True)) == IssueCode(["openid"])
    assert decided(valid(consented=False)) == AskConsent(["openid"])


def test_prompt_consent_asks_even_when_consented_and_prompt_none_never_asks():
    assert decided(valid(consented=True), prompt="consent") == AskConsent(["openid"])
    assert decided(valid(consented=False), prompt="none").error == "consent_required"
    assert decided(valid(consented=True), prompt="none") == IssueCode(["openid"])


@pytest.mark.parametrize("params", [{"prompt": "login"}, {"prompt": "select_account"}, {"max_age": "10"}])
def test_a_new_sign_in_is_asked_for_by_prompt_or_an_old_sign_in(params):
    assert decided(valid(consented=True), **params) == SignIn("", again=True)


def test_a_sign_in_in_this_very_request_satisfies_any_max_age_and_prompt_login_but_not_another_person():
    fresh = Person(subject="a1", email="alice@example.com", auth_time=int(NOW) - 1, fresh=True)
    assert decided(valid(consented=True), person=fresh, max_age="0") == IssueCode(["openid"])
    assert decided(valid(consented=True), person=fresh, prompt="login") == IssueCode(["openid"])
    assert decided(valid(consented=True), person=fresh, prompt="select_account") == IssueCode(["openid"])
    assert decided(valid(consented=True), person=fresh, hint="someone-else") == SignIn("", again=True)


def test_a_recent_enough_sign_in_keeps_the_session():
    assert decided(valid(consented=True), max_age="1000") == IssueCode(["openid"])


def test_an_id_token_hint_must_be_ours_and_name_the_signed_in_person():
    assert decided(hint=INVALID_HINT).error == "invalid_request"
    assert decided(valid(consented=True), hint="someone-else") == SignIn("", again=True)
    assert decided(valid(consented=True), hint="a1") == IssueCode(["openid"])
    assert decided(valid(consented=True), hint="someone-else", prompt="none").error == "login_required"


def test_prompt_none_with_another_account_in_the_hint_is_interaction_required():
    decision = decided(valid(consented=True), prompt="none", login_hint="bob@example.com")
    assert decision.error == "interaction_required"
    assert decided(valid(consented=True), prompt="none", login_hint="Alice@Example.com") == IssueCode(
        ["openid"]
    )


def test_a_login_hint_is_cut_to_an_e_mail_address_length():
    assert decided(person=None, login_hint="x" * 500).login_hint == "x" * 254


def test_is_silent_reads_prompt_none():
    assert is_silent({"prompt": "none"}) and not is_silent({"prompt": "login"}) and not is_silent({})


def test_refusals_keep_the_request_s_state_and_redirect_uri_for_the_client():
    decision = decided(person=None, prompt="none")
    assert (decision.redirect_uri, decision.state) == (CALLBACK, "s1")
