# Sourced by scripts/test: Debian's Chromium for the browser tests (tests/browser drive it with
# Playwright, launched from /usr/bin/chromium; Playwright's own browser download is never used).
# Installs the `chromium` package only when /usr/bin/chromium is missing (so once per machine),
# as root or through sudo, without questions. When it cannot, it says how; the browser tests
# then skip with that command, except under CI=true, where they fail (CI never skips them).
if [ ! -x /usr/bin/chromium ]; then
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root="sudo -n"
    elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
      as_root="sudo"  # asks for the password at the terminal
    else
      as_root="none"
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1 || [ "$as_root" = none ]; then
    echo "scripts/test: /usr/bin/chromium is missing and cannot be installed here (needs apt-get as root" \
      "or sudo): run 'sudo apt-get install -y chromium'. Without it the browser tests are skipped," \
      "and fail under CI=true." >&2
  else
    echo "scripts/test: installing Debian's chromium for the browser tests (once per machine)..." >&2
    apt_log="$(mktemp)"
    started=$SECONDS
    if $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$apt_log" 2>&1 &&
      $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>"$apt_log" 2>&1; then
      echo "scripts/test: chromium installed in $((SECONDS - started)) s: $(/usr/bin/chromium --version 2>/dev/null)" >&2
    else
      tail -n 20 "$apt_log" >&2
      echo "scripts/test: apt-get could not install chromium (above); install it with" \
        "'sudo apt-get install -y chromium'. Without it the browser tests are skipped, and fail under CI=true." >&2
    fi
    rm -f "$apt_log"
  fi
fi
