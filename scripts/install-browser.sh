#!/usr/bin/env bash
# The drawing page (tatamu draw) is tested in a real browser: Debian's chromium and
# chromium-driver, driven by Selenium. `make test` calls this once per virtual environment:
# it installs them where it can (root with apt-get; about 120 MB, 1-2 minutes) and never fails:
# where it cannot, the browser tests skip and say why.
if command -v chromedriver >/dev/null && command -v chromium >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "install-browser: not root with apt-get; the browser tests will skip" \
         "(sudo apt-get install chromium chromium-driver to run them)" >&2
    exit 0
fi
start=$SECONDS
if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        chromium chromium-driver >/dev/null; then
    echo "install-browser: installed chromium + chromium-driver in $((SECONDS - start)) s" >&2
else
    echo "install-browser: could not install chromium; the browser tests will skip" >&2
fi
exit 0
