#!/usr/bin/env python3
"""Drives the web console in real headless Chromium sessions (Selenium, chromedriver).

The scenario of the console's acceptance test:
  1. the case manager signs in, opens the case and posts in the family thread;
  2. a second session, signed in as the family member with the family thread already open,
     sees that message appear live, without reloading the page;
  3. the family session has no PPA tab at all;
  4. a body of <script>alert(1)</script> shows as text in both sessions and runs nothing;
  5. when the case manager is removed from the case it has open (its token still reaching a
     case it opened), the console stops reconnecting and says that access to the case ended.
With --screenshots DIR it also saves the main screens there (for docs/).

Prints one JSON line with what it saw; exits 0 when every check passed, 1 otherwise.
"""

import argparse
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 15


class CheckFailed(Exception):
    pass


def browser(width=1366, height=900):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={width},{height}",
                 "--lang=id", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver, condition, what):
    try:
        return WebDriverWait(driver, WAIT_SECONDS).until(condition)
    except TimeoutException:
        raise CheckFailed(f"{what}: not within {WAIT_SECONDS} s (page: {driver.current_url})")


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def sign_in(driver, base_url, token):
    driver.get(base_url + "/")
    field = wait(driver, ready.visibility_of_element_located((By.ID, "token")), "the sign-in form")
    field.send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, ready.presence_of_element_located((By.CSS_SELECTOR, "#case-list .case-link")), "the case list after signing in")


def open_case(driver, case_id):
    link = wait(driver, ready.element_to_be_clickable((By.CSS_SELECTOR, f'#case-list .case-link[data-case-id="{case_id}"]')), "the case link")
    link.click()
    wait(driver, ready.presence_of_element_located((By.CSS_SELECTOR, "#thread-tabs [data-thread]")), "the thread tabs")


def tabs(driver):
    return [tab.get_attribute("data-thread") for tab in driver.find_elements(By.CSS_SELECTOR, "#thread-tabs [data-thread]")]


def open_thread(driver, thread):
    driver.find_element(By.CSS_SELECTOR, f'#thread-tabs [data-thread="{thread}"]').click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f'#thread-tabs [data-thread="{thread}"]').get_attribute("aria-selected") == "true",
         f"the {thread} tab to be selected")


def bodies(driver):
    # Read in one step inside the page: the list may be redrawn between two WebDriver calls.
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#messages li.message .message-body')).map(e => e.textContent.trim())")


def wait_for_body(driver, text, who):
    wait(driver, lambda d: text in bodies(d), f"{who} to show the message {text!r}")


def post(driver, text):
    box = driver.find_element(By.ID, "composer-body")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.ID, "composer-send").click()


def no_alert(driver, who):
    try:
        alert = driver.switch_to.alert
        text = alert.text
        alert.dismiss()
        raise CheckFailed(f"{who}: a script in a message body ran (alert {text!r})")
    except NoAlertPresentException:
        pass


def shot(driver, directory, name):
    if directory:
        time.sleep(0.4)  # let the last frame paint
        driver.save_screenshot(f"{directory}/{name}.png")


def api(base_url, token, method, path, body=None):
    """One call of the hub's API, as a client beside the browser would make it."""
    request = urllib.request.Request(base_url + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as answer:
        text = answer.read()
        return json.loads(text) if text else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--manager-token", required=True)
    parser.add_argument("--family-token", required=True)
    parser.add_argument("--case-id", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    seen = {}
    manager = family = None
    try:
        manager = browser()
        family = browser()

        # The family member signs in first and keeps the family thread open.
        sign_in(family, args.base_url, args.family_token)
        open_case(family, args.case_id)
        seen["family_tabs"] = tabs(family)
        check("ppa" not in seen["family_tabs"], f"the family session shows a PPA tab: {seen['family_tabs']}")
        check(seen["family_tabs"] == ["family"], f"the family session shows tabs {seen['family_tabs']}, not only family")
        open_thread(family, "family")
        family.execute_script("window.__casehubNoReload = 'still here'")

        # The case manager signs in, opens the case, sees every thread and posts to the family.
        manager.get(args.base_url + "/")
        shot(manager, args.screenshots, "sign-in")
        sign_in(manager, args.base_url, args.manager_token)
        shot(manager, args.screenshots, "cases")
        open_case(manager, args.case_id)
        seen["manager_tabs"] = tabs(manager)
        check(set(seen["manager_tabs"]) == {"patient", "family", "ppa", "payer"}, f"the case manager sees tabs {seen['manager_tabs']}")
        open_thread(manager, "ppa")
        shot(manager, args.screenshots, "case-ppa-thread")
        open_thread(manager, "family")
        greeting = "Ibu Sari, edukasi perawatan luka besok pukul 10.00 di ruang Melati 3."
        post(manager, greeting)
        wait_for_body(manager, greeting, "the case manager's session")

        # It appears live in the family session, which never reloaded.
        wait_for_body(family, greeting, "the family session (live, without reloading)")
        check(family.execute_script("return window.__casehubNoReload") == "still here", "the family page reloaded")
        seen["live"] = True

        # A script tag in a body is text everywhere.
        hostile = "<script>alert(1)</script>"
        post(manager, hostile)
        wait_for_body(manager, hostile, "the case manager's session")
        wait_for_body(family, hostile, "the family session")
        for driver, who in ((manager, "case manager"), (family, "family")):
            no_alert(driver, who)
            check(not driver.find_elements(By.CSS_SELECTOR, "#messages script"), f"{who}: a script element was built from a message body")
        seen["script_body_is_text"] = True
        shot(family, args.screenshots, "family-thread")
        shot(manager, args.screenshots, "case-family-thread")

        # After a reload the case manager's page still knows who has read the family thread
        # (stored read markers), and the case search asks the hub.
        manager.refresh()
        open_case(manager, args.case_id)
        open_thread(manager, "family")
        wait(manager, lambda d: "Sari" in d.find_element(By.ID, "seen-by").text, "the stored read marker of the family ('seen by')")
        seen["seen_by_after_reload"] = manager.find_element(By.ID, "seen-by").text
        search = manager.find_element(By.ID, "case-search")
        search.send_keys("zzz-no-such-case")
        wait(manager, lambda d: not d.find_elements(By.CSS_SELECTOR, "#case-list .case-link"), "an empty case list for a search that matches nothing")
        search.clear()
        search.send_keys("004711")
        wait(manager, ready.presence_of_element_located((By.CSS_SELECTOR, f'#case-list .case-link[data-case-id="{args.case_id}"]')),
             "the case found by its MRN")
        seen["search"] = True

        # Every form control a person can reach has a name a screen reader can say.
        unlabelled = manager.execute_script("""
            return Array.from(document.querySelectorAll('input, select, textarea, button'))
              .filter(e => e.offsetParent !== null && e.type !== 'hidden')
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')
                           && !(e.tagName === 'BUTTON' && e.textContent.trim()))
              .map(e => e.outerHTML.slice(0, 120));""")
        check(not unlabelled, f"controls without a label: {unlabelled[:5]}")
        seen["visible_controls"] = manager.execute_script(
            "return Array.from(document.querySelectorAll('input, select, textarea, button')).filter(e => e.offsetParent !== null).length")
        check(seen["visible_controls"] >= 10, f"only {seen['visible_controls']} controls were checked for labels")
        # The thread tabs follow the keyboard (arrow keys move between them).
        selected = manager.find_element(By.CSS_SELECTOR, '#thread-tabs [aria-selected="true"]')
        before = selected.get_attribute("data-thread")
        selected.send_keys(Keys.ARROW_RIGHT)
        wait(manager, lambda d: d.find_element(By.CSS_SELECTOR, '#thread-tabs [aria-selected="true"]').get_attribute("data-thread") != before,
             "the right arrow key to move to the next thread tab")
        seen["labelled_and_keyboard"] = True
        open_thread(manager, "family")

        # The main panels, for the screenshots and as a smoke test that they render.
        for panel in ("milestones", "deliveries", "log"):
            buttons = manager.find_elements(By.CSS_SELECTOR, f'[data-panel="{panel}"]')
            check(buttons, f"no button opens the {panel} panel")
            buttons[0].click()
            wait(manager, ready.visibility_of_element_located((By.ID, f"panel-{panel}")), f"the {panel} panel")
            shot(manager, args.screenshots, f"panel-{panel}")
        seen["panels"] = True

        # Phone width: the same case stays usable.
        manager.set_window_size(390, 844)
        open_thread(manager, "family")
        shot(manager, args.screenshots, "phone-family-thread")

        # The case manager's access to this case ends while the case is open in the browser.
        # Its token still reaches a case it opened, so the session stays, without reconnecting.
        api(args.base_url, args.manager_token, "POST", "/v1/cases", {"mrn": "RM-2026-009999", "patient": {"name": "Siti Aminah"}})
        participant = api(args.base_url, args.manager_token, "GET", "/v1/me")["memberships"][args.case_id]
        manager.set_window_size(1366, 900)
        wait(manager, lambda d: d.find_element(By.ID, "live-state").get_attribute("data-state") == "live", "the live stream before the removal")
        api(args.base_url, args.admin_token, "DELETE", f"/v1/cases/{args.case_id}/participants/{participant}")
        ended = "Akses Anda ke kasus ini telah berakhir."
        wait(manager, lambda d: d.find_element(By.ID, "status").text == ended, "the console to say that access to the case ended")
        time.sleep(3)  # longer than the first reconnect's backoff
        check(manager.find_element(By.ID, "status").text == ended, "the access-ended message was replaced (a reconnect?)")
        check(manager.find_element(By.ID, "live-state").get_attribute("data-state") == "offline", "the stream is live again")
        seen["access_ended"] = True

        severe = [entry for driver in (manager, family) for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"
                  and "Content Security Policy" in entry.get("message", "")]
        check(not severe, f"the browser reported CSP violations: {severe[:3]}")
        print(json.dumps({"ok": True, "seen": seen}))
        return 0
    except CheckFailed as failure:
        print(json.dumps({"ok": False, "failure": str(failure), "seen": seen}))
        return 1
    finally:
        for driver in (manager, family):
            if driver is not None:
                driver.quit()


if __name__ == "__main__":
    sys.exit(main())
