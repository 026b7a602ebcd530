#!/usr/bin/env bash
# Installs what the view's browser tests need into DIR (the build directory's
# node/): playwright-core from the npm registry, at the version pinned in
# package.json and package-lock.json. The browser is Debian's chromium
# (scripts/install-deps.sh installs it); playwright never downloads one.
set -euo pipefail
dir=${1:?usage: setup-browser.sh DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ ! -x /usr/bin/chromium ]]; then
  echo "setup-browser: /usr/bin/chromium is missing; run scripts/install-deps.sh" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "setup-browser: npm is missing; run scripts/install-deps.sh" >&2
  exit 1
fi
mkdir -p "$dir"
# Up to date when the installed lock file is the one in the sources.
if [[ -d "$dir/node_modules/playwright-core" ]] && cmp -s "$here/package-lock.json" "$dir/package-lock.json"; then
  exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dir/"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts) >"$log" 2>&1; then
  echo "setup-browser: npm ci failed:" >&2
  cat "$log" >&2
  exit 1
fi
