# Sourced by the scripts: each Python tool in its own virtualenv under target/tools/, pinned,
# installed from PyPI on first use (checkov, aws-sam-cli and moto pin different versions of
# the same libraries, so they cannot share one environment).

# python_tool NAME 'pip requirement'...: prints the virtualenv's bin directory.
python_tool() {
  local name=$1
  shift
  local venv="$PWD/target/tools/$name"
  local wanted="$*"
  if [[ ! -f "$venv/installed" || "$(cat "$venv/installed")" != "$wanted" ]]; then
    echo "==> installing $wanted (PyPI) into target/tools/$name" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2
    echo "$wanted" >"$venv/installed"
  fi
  echo "$venv/bin"
}

# The pinned versions.
MOTO='moto[server,dynamodb,s3,secretsmanager]==5.2.1'
CARGO_LAMBDA='cargo-lambda==1.9.2'
CFN_LINT='cfn-lint==1.58.0'
CHECKOV='checkov==3.3.30'
AWS_SAM_CLI='aws-sam-cli==1.170.0'
# The old backend's password hashers, for the tests of users moved in from Django (issue 15).
DJANGO='Django==5.2.19 argon2-cffi==25.1.0 bcrypt==4.3.0'
SCHEMATHESIS='schemathesis==4.32.5'

# start_moto PORT LOG: starts moto server (one request at a time, see scripts/moto_server.py)
# on 127.0.0.1:PORT in the background, waits until it answers, sets moto_pid.
start_moto() {
  local port=$1 log=$2 python
  python="$(python_tool moto "$MOTO")/python"
  "$python" scripts/moto_server.py 127.0.0.1 "$port" >"$log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 1 150); do
    if "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$moto_pid" 2>/dev/null; then
      echo "moto server did not start:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "moto server did not answer on port $port" >&2
  return 1
}

# free_port: a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
