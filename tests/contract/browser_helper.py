"""A stand-in web browser for the InteractiveBrowserCredential contract test (`BROWSER=<this>`).

azure-identity opens the sign-in URL with `webbrowser.open(url)`; with `BROWSER` set to one
executable, Python's `webbrowser` runs `<BROWSER> <url>` and *waits for it to exit*, while
azure-identity's loopback server only starts answering after `open` returned. So this program
detaches at once: `python browser_helper.py URL` starts itself again in a new session with
`--sign-in URL` and exits 0; the detached child then does what a person in a browser would do:

1. GET the sign-in page (`/{tenant}/oauth2/v2.0/authorize?...`);
2. if it shows the password form, fill in user name and password and POST it (with the page's
   hidden fields, including its anti-forgery token); a sign-in session cookie may instead let
   the server skip the form;
3. follow the answer to the loopback redirect URI: POST the auto-posting `form_post` form (what
   azure-identity asks for), or GET a 302's `Location`.

Settings come from the environment (the test sets them): `MAAS_TEST_BROWSER_USER`,
`MAAS_TEST_BROWSER_PASSWORD`, `MAAS_TEST_BROWSER_CA` (the server's CA bundle),
`MAAS_TEST_BROWSER_LOG` (a file this program appends what it did to) and, optionally,
`MAAS_TEST_BROWSER_COOKIES` (a JSON file kept between runs: the browser's cookie jar).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

TIMEOUT_S = 30.0


def _log(line: str) -> None:
    with open(os.environ["MAAS_TEST_BROWSER_LOG"], "a", encoding="utf-8") as out:
        out.write(line.rstrip() + "\n")


def _detach(url: str) -> int:
    """Start the sign-in in a new session and return at once (webbrowser waits for us)."""
    with open(os.environ["MAAS_TEST_BROWSER_LOG"], "ab") as out:
        subprocess.Popen(
            [sys.executable, __file__, "--sign-in", url],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
        )
    return 0


def _sign_in(url: str) -> None:
    import httpx

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support.*
    from support.signin_page import read_page

    jar_file = os.environ.get("MAAS_TEST_BROWSER_COOKIES", "")
    saved = json.loads(Path(jar_file).read_text()) if jar_file and Path(jar_file).exists() else []
    with httpx.Client(
        verify=os.environ["MAAS_TEST_BROWSER_CA"], timeout=TIMEOUT_S, follow_redirects=False
    ) as http:
        for name, value, domain, path in saved:
            http.cookies.set(name, value, domain=domain, path=path)
        answer = http.get(url)
        page = read_page(answer.text)
        _log(f"GET authorize -> {answer.status_code}, password form: {'password' in page.fields}")
        if "password" in page.fields:
            fields = page.fields | {
                "username": os.environ["MAAS_TEST_BROWSER_USER"],
                "password": os.environ["MAAS_TEST_BROWSER_PASSWORD"],
            }
            answer = http.post(httpx.URL(url).join(page.action), data=fields)
            page = read_page(answer.text)
            _log(f"POST sign-in -> {answer.status_code} {page.alert}")
        if answer.status_code in (301, 302, 303):
            loopback = http.get(answer.headers["location"])
        elif answer.status_code == 200 and page.method == "post" and "code" in page.fields:
            loopback = http.post(page.action, data=page.fields)  # the form_post page's form
        else:
            raise RuntimeError(
                f"no code in the answer: {answer.status_code} {page.alert or answer.text[:300]}"
            )
        _log(f"redirect to loopback -> {loopback.status_code}")
        if jar_file:
            kept = [[c.name, c.value, c.domain, c.path] for c in http.cookies.jar]
            Path(jar_file).write_text(json.dumps(kept))


def main(argv: list[str]) -> int:
    if len(argv) == 2:
        return _detach(argv[1])
    if len(argv) == 3 and argv[1] == "--sign-in":
        try:
            _sign_in(argv[2])
        except Exception:
            _log("FAILED\n" + traceback.format_exc())
            return 1
        _log("DONE")
        return 0
    print("usage: browser_helper.py URL", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
