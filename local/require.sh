#!/usr/bin/env bash
# Says which tool is missing or too old, and what is needed, before a make step fails obscurely.
#   local/require.sh node              Node for osls 4.3: ^20.19 || ^22.13 || >=24
#   local/require.sh python PYTHON     the interpreter that creates .venv: 3.11 or newer
set -uo pipefail

fail() {
  printf 'make: %s\n' "$1" >&2
  exit 1
}

case "${1:-}" in
node)
  command -v node >/dev/null || fail "node not found: osls needs Node ^20.19 || ^22.13 || >=24 (https://nodejs.org)"
  version=$(node --version) # v22.13.1
  IFS=. read -r major minor _ <<<"${version#v}"
  if ! { [ "$major" -eq 20 ] && [ "$minor" -ge 19 ]; } && ! { [ "$major" -eq 22 ] && [ "$minor" -ge 13 ]; } &&
    ! [ "$major" -ge 24 ]; then
    fail "Node $version found; osls 4.3 needs Node ^20.19 || ^22.13 || >=24 (https://nodejs.org)"
  fi
  ;;
python)
  python=${2:-python3}
  command -v "$python" >/dev/null || fail "$python not found: the virtualenv needs Python 3.11 or newer (PYTHON=/path/to/python3.11)"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    fail "$python is Python $("$python" -c 'import platform; print(platform.python_version())'); the virtualenv needs 3.11 or newer (PYTHON=/path/to/python3.11)"
  ;;
*)
  fail "local/require.sh: node | python [PYTHON]"
  ;;
esac
