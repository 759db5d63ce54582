"""Logging in and out as an employee sees it: the pages, the Dutch messages, the second step."""

from __future__ import annotations

import logging

import pyotp
import pytest

from assistant.console.accounts import Account, AccountStore
from tests.assistant.console.helpers import PASSWORD, Console, FakeClock, token_in

WRONG = "Gebruikersnaam of wachtwoord klopt niet."
LOCKED = "Te veel mislukte pogingen. Probeer het over 15 minuten opnieuw."


@pytest.fixture
def secret(accounts: AccountStore) -> str:
    code_secret = pyotp.random_base32()
    accounts.create("kees", display_name="Kees", password=PASSWORD, totp_secret=code_secret)
    return code_secret


async def test_a_visitor_is_sent_to_the_login_page(console: Console) -> None:
    response = await console.client.get("/", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")


async def test_the_login_page_is_dutch_and_accessible(console: Console) -> None:
    response = await console.client.get("/login")
    page = await response.text()
    assert response.status == 200 and '<html lang="nl">' in page
    assert "<h1>Inloggen</h1>" in page
    assert '<label class="kcc-form-label" for="username">Gebruikersnaam</label>' in page
    assert '<label class="kcc-form-label" for="password">Wachtwoord</label>' in page
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page
    assert 'id="username"' in page and "autofocus" in page
    assert "<script" not in page and "style=" not in page


async def test_the_right_password_opens_the_queue_with_the_employees_name(
    console: Console, sanne: Account
) -> None:
    await console.log_in("Sanne")
    response = await console.client.get("/")
    page = await response.text()
    assert response.status == 200
    assert "<h1>Wachtrij</h1>" in page and "Sanne" in page and "Uitloggen" in page


async def test_a_wrong_password_is_refused_with_a_summary_linked_to_the_field(
    console: Console, sanne: Account
) -> None:
    response = await console.submit_password("sanne", "niet het wachtwoord")
    page = await response.text()
    assert response.status == 200 and WRONG in page
    assert '<a href="#password">' + WRONG + "</a>" in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="password-fout"' in page
    assert 'role="alert"' in page and "<title>Fout: Inloggen" in page
    assert 'value="sanne"' in page, "the username stays filled in"
    assert "niet het wachtwoord" not in page, "the password is never sent back"
    assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_an_unknown_username_gets_the_same_answer_as_a_wrong_password(
    console: Console, sanne: Account
) -> None:
    unknown = await (await console.submit_password("piet", PASSWORD)).text()
    wrong = await (await console.submit_password("sanne", "niet het wachtwoord")).text()
    assert WRONG in unknown
    # The same page but for the username typed and the form's token.
    assert (
        unknown.replace('value="piet"', 'value="sanne"').replace(token_in(unknown), token_in(wrong))
        == wrong
    )


async def test_empty_fields_are_named(console: Console) -> None:
    page = await (await console.submit_password("", "")).text()
    assert '<a href="#username">Vul uw gebruikersnaam in.</a>' in page
    assert '<a href="#password">Vul uw wachtwoord in.</a>' in page


async def test_five_failures_lock_the_account_and_it_opens_after_fifteen_minutes(
    console: Console, sanne: Account, clock: FakeClock
) -> None:
    pages = [await (await console.submit_password("sanne", f"fout {i}")).text() for i in range(5)]
    assert all(WRONG in page for page in pages[:4])
    assert LOCKED in pages[4]
    locked = await (await console.submit_password("sanne", PASSWORD)).text()
    assert LOCKED in locked, "the right password waits too"

    clock.advance(minutes=14)
    assert "Probeer het over 1 minuut opnieuw." in await (await console.submit_password()).text()
    clock.advance(minutes=1)
    await console.log_in()


async def test_logging_out_ends_the_session(console: Console, sanne: Account) -> None:
    await console.log_in()
    token = await console.page_token("/")
    response = await console.client.post("/logout", data={"csrf_token": token})
    page = await response.text()
    assert response.status == 200 and "U bent uitgelogd." in page
    response = await console.client.get("/", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")


async def test_a_logged_in_employee_skips_the_login_page(console: Console, sanne: Account) -> None:
    await console.log_in()
    response = await console.client.get("/login", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/")


# --- the authenticator app -------------------------------------------------------------------


async def test_an_account_with_an_app_is_asked_for_its_code(
    console: Console, secret: str, clock: FakeClock
) -> None:
    response = await console.submit_password("kees", PASSWORD)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    page = await (await console.client.get("/login")).text()
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page
    assert (await console.client.get("/", allow_redirects=False)).status == 303, "not in yet"

    response = await console.submit_code(pyotp.TOTP(secret).at(clock()))
    assert (response.status, response.headers["Location"]) == (303, "/")
    assert "Kees" in await (await console.client.get("/")).text()


async def test_a_wrong_code_is_refused_and_may_be_tried_again(
    console: Console, secret: str, clock: FakeClock
) -> None:
    await console.submit_password("kees", PASSWORD)
    page = await (await console.submit_code("000000")).text()
    assert '<a href="#code">De code klopt niet.' in page
    code = pyotp.TOTP(secret).at(clock())
    assert (await console.submit_code(f"{code[:3]} {code[3:]}")).status == 303


async def test_a_code_cannot_be_used_twice(console: Console, secret: str, clock: FakeClock) -> None:
    code = pyotp.TOTP(secret).at(clock())
    await console.submit_password("kees", PASSWORD)
    assert (await console.submit_code(code)).status == 303
    await console.client.post("/logout", data={"csrf_token": await console.page_token()})
    await console.submit_password("kees", PASSWORD)
    assert "De code klopt niet." in await (await console.submit_code(code)).text()


async def test_the_code_step_cannot_be_skipped_or_taken_without_the_password(
    console: Console, secret: str, clock: FakeClock
) -> None:
    page = await (await console.submit_code(pyotp.TOTP(secret).at(clock()))).text()
    assert 'id="password"' in page and "Het inloggen duurde te lang." in page
    assert (await console.client.get("/", allow_redirects=False)).status == 303


async def test_the_code_step_expires_after_five_minutes(
    console: Console, secret: str, clock: FakeClock
) -> None:
    await console.submit_password("kees", PASSWORD)
    clock.advance(minutes=5)
    page = await (await console.submit_code(pyotp.TOTP(secret).at(clock()))).text()
    assert "Het inloggen duurde te lang." in page and 'id="password"' in page


async def test_starting_again_from_the_code_step_asks_for_the_password(
    console: Console, secret: str
) -> None:
    await console.submit_password("kees", PASSWORD)
    token = await console.login_token()
    await console.client.post("/login", data={"step": "restart", "csrf_token": token})
    assert 'id="password"' in await (await console.client.get("/login")).text()


async def test_no_password_code_or_secret_reaches_the_log(
    console: Console, secret: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await console.submit_password("kees", "een fout wachtwoord")
    await console.submit_password("onbekend", "nog een fout wachtwoord")
    await console.submit_password("kees", PASSWORD)
    await console.submit_code("123456")
    code = pyotp.TOTP(secret).at(clock())
    await console.submit_code(code)
    assert caplog.records, "logins are logged"
    logged = caplog.text
    for secret_text in (PASSWORD, "een fout wachtwoord", "nog een fout", code, "123456", secret):
        assert secret_text not in logged
    assert "onbekend" not in logged, "an unknown username may be a password typed too early"
