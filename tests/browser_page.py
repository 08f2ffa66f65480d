"""The sign-in page (web/) in a real headless Chromium, driven by selenium over chromedriver.

Run by tests/browser.rs, which starts the stack and the page's server and passes:
PAGE_URL, API_URL (the API the page's config.json names), HOSTILE_URL (an address a hostile link
names in ?api=), EMAIL, PASSWORD, NAME, SCREENSHOT, CHROMIUM, CHROMEDRIVER, EXPIRY_SECONDS.
Exits non-zero with the failed check on standard error.
"""
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as visible
from selenium.webdriver.support.ui import WebDriverWait

env = os.environ
page, api = env["PAGE_URL"], env["API_URL"]

options = webdriver.ChromeOptions()
options.binary_location = env["CHROMIUM"]
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--window-size=900,820", "--no-first-run", "--disable-extensions"):
    options.add_argument(arg)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service(executable_path=env["CHROMEDRIVER"]), options=options)


def element(id_):
    return driver.find_element(By.ID, id_)


def wait_visible(id_, timeout=15):
    return WebDriverWait(driver, timeout).until(visible.visibility_of_element_located((By.ID, id_)))


def wait_text(id_, text, timeout=15):
    WebDriverWait(driver, timeout).until(visible.text_to_be_present_in_element((By.ID, id_), text))


def sign_in(password):
    for id_, value in (("email", env["EMAIL"]), ("password", password)):
        element(id_).clear()
        element(id_).send_keys(value)
    element("signin-button").click()


def stored():
    """Everything the page could have kept: both storages and its cookies."""
    return driver.execute_script(
        "return JSON.stringify({local: {...localStorage}, session: {...sessionStorage}, cookies: document.cookie});")


def refresh_token():
    """The refresh token in the page's memory (the test peeks; no storage holds it)."""
    return driver.execute_script("return session && session.refresh")


def api_post(path, form):
    """POST a form to the API, as another client would; the status."""
    data = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{api_url}{path}", data=data), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


api_url = env["API_URL"]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


try:
    # A hostile link: ?api= names another address. The page says it ignores it, and signs in
    # (below) only to the API its configuration names; tests/browser.rs checks that nothing
    # reached the other address.
    driver.get(f"{page}?api={env['HOSTILE_URL']}")
    wait_text("api", api)
    check("ignored" in element("notice").text, f"the ignored ?api= is said: {element('notice').text!r}")

    # A wrong password: an error a person understands, no session.
    sign_in("not the password")
    wait_visible("signin-error")
    check(element("signin-error").text == "Wrong email or password.", f"wrong password: {element('signin-error').text!r}")
    check(not element("session").is_displayed(), "no session after a wrong password")

    # The right one: the greeting from /hello and the claims.
    sign_in(env["PASSWORD"])
    wait_text("greeting", f"Hello, {env['NAME']}!")
    check(element("claim-sub").text.startswith("u_"), f"subject, the user's id: {element('claim-sub').text!r}")
    check(element("claim-email").text == env["EMAIL"], "email")
    check(element("claim-roles").text == "reader", f"roles: {element('claim-roles').text!r}")
    # Which routes the reader may call: a 403 is "not allowed", not an error.
    wait_text("route-admin", "not allowed")
    check(element("route-hello").text == "allowed", f"/hello: {element('route-hello').text!r}")
    check(not element("session-error").is_displayed(), "a 403 on /admin is no error")
    check(re.fullmatch(r"\d+:\d\d", element("expires-in").text), f"expiry countdown: {element('expires-in').text!r}")
    first = element("expires-in").text
    time.sleep(2.2)
    check(element("expires-in").text != first, "the expiry counts down")
    check(not element("signin-card").is_displayed(), "the sign-in form is hidden while signed in")
    os.makedirs(os.path.dirname(env["SCREENSHOT"]), exist_ok=True)
    driver.save_screenshot(env["SCREENSHOT"])
    # The token is in memory only: nothing that looks like a JWT in storage or cookies.
    check("eyJ" not in stored(), f"the token was stored: {stored()}")
    kept = json.loads(stored())
    check(not kept["local"] and not kept["session"] and not kept["cookies"],
          f"nothing may be remembered: {kept}")

    # Calling /hello again works with the same token.
    element("call-hello").click()
    wait_text("greeting", f"Hello, {env['NAME']}!")

    # A 401 (here, an access token spoiled in memory) makes the page refresh once and retry.
    first_refresh = refresh_token()
    check(first_refresh and len(first_refresh) == 43, "a refresh token in memory")
    driver.execute_script("session.token = 'spoiled.access.token'")
    element("call-hello").click()
    WebDriverWait(driver, 15).until(lambda d: refresh_token() not in (None, first_refresh))
    wait_text("greeting", f"Hello, {env['NAME']}!")
    check(element("session").is_displayed(), "still signed in after the refresh")
    # Before the access token expires, the page refreshes by itself.
    before = refresh_token()
    WebDriverWait(driver, int(env["EXPIRY_SECONDS"]) + 15).until(lambda d: refresh_token() not in (None, before))
    check(element("session").is_displayed(), "still signed in after the scheduled refresh")

    # Revoked elsewhere (another device's sign-out, an administrator): the next 401 finds the
    # refresh refused, and the page asks to sign in again.
    check(api_post("/revoke", {"token": refresh_token()}) == 200, "revoked from outside")
    driver.execute_script("session.token = 'spoiled.access.token'")
    element("call-hello").click()
    wait_text("notice", "Your session has expired. Sign in again.")
    check(element("signin-card").is_displayed() and not element("session").is_displayed(),
          "after revocation: the sign-in form, no session")

    # Sign out: the session is gone here and at the API.
    sign_in(env["PASSWORD"])
    wait_visible("session")
    last = refresh_token()
    element("signout").click()
    wait_visible("signin-card")
    check(not element("session").is_displayed(), "signed out: no session")
    check(element("notice").text == "You are signed out.", f"sign-out notice: {element('notice').text!r}")
    check(element("greeting").text == "", "signed out: no greeting left")
    check("eyJ" not in stored(), "signed out: no token stored")
    WebDriverWait(driver, 10).until(
        lambda d: api_post("/token", {"grant_type": "refresh_token", "refresh_token": last}) == 400)

    # No error in the console, except the 401s and 400s the flow asked for (wrong password,
    # spoiled tokens, the refused refresh), which Chromium reports for any failed request.
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    unexpected = [e["message"] for e in errors
                  if not any(f"status of {code}" in e["message"] for code in (400, 401, 403))]
    check(not unexpected, f"console errors: {unexpected}")
    check(len(errors) >= 2, f"the two expected 401s are in the console log: {errors}")
    print(f"browser checks passed; screenshot at {env['SCREENSHOT']}")
except Exception as e:  # noqa: BLE001 - report any failure with the page's state
    body = driver.find_element(By.TAG_NAME, "body").text
    console = [entry["message"] for entry in driver.get_log("browser")]
    print(f"browser check failed: {e!r}\n--- page text ---\n{body}\n--- console ---\n{console}", file=sys.stderr)
    sys.exit(1)
finally:
    driver.quit()
