#!/bin/sh
# Installs the Debian 12 packages mlschat needs, only those that are missing.
# Usage: scripts/deps.sh [extra-package...]
# Runs `apt-get update` at most once, then `apt-get install -y` of what is
# missing.  When not root (and no sudo without a password), it prints the
# exact command to run and stops.
set -eu

PKGS="gcc make pkg-config libssl-dev libjansson-dev libsqlite3-dev libpq-dev libwebsockets-dev libwebsockets-evlib-ev libev-dev libncurses-dev tmux openssl python3 python3-cryptography $*"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "deps: not root. Run this, then try again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
