#!/usr/bin/env bash
# Regenerates the lock files (*.txt) from the *.in files, plus the layer's copy of the runtime pins.
# Resolves from PyPI only: local pip config, mirrors and find-links are ignored, so that the pins
# install on any machine. Usage (or `make lock`): requirements/lock.sh PYTHON3.13 SAM_PYTHON
set -euo pipefail
cd "$(dirname "$0")"
python=${1:?usage: lock.sh PYTHON3.13 SAM_PYTHON}
sam_python=${2:?usage: lock.sh PYTHON3.13 SAM_PYTHON}

export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_CONSTRAINT PIP_REQUIRE_VIRTUALENV
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

lock() {
    local name=$1 interpreter=$2 version
    "$interpreter" -m venv "$tmp/$name"
    "$tmp/$name/bin/python" -m pip install -q -r "$name.in"
    version=$("$tmp/$name/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    {
        echo "# Locked from requirements/$name.in: every package pinned, resolved from PyPI in a fresh"
        echo "# Python $version venv with \`pip install -r $name.in && pip freeze\`."
        echo "# Regenerate with \`make lock\` (edit the .in file, never this one)."
        "$tmp/$name/bin/python" -m pip freeze
    } > "$name.txt"
}

lock runtime "$python"
lock dev "$python"
lock sam "$sam_python"

{
    echo "# What \`sam build\` installs into the connectors layer: requirements/runtime.txt's pins."
    echo "# Written by \`make lock\`; edit requirements/runtime.in instead."
    grep -v '^#' runtime.txt
} > ../layers/connectors/requirements.txt
