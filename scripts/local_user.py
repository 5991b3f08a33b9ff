"""Signs up one user on a running local server (README command one), reading the code from
GET /_local/outbox. Used by scripts/login-latency and scripts/load.

As a command: python3 scripts/local_user.py BASE_URL prints the user's access token;
python3 scripts/local_user.py BASE_URL SESSIONS FILE [USERS] also signs up USERS users
(default 1) in all, logs them in SESSIONS times in all, and writes to FILE one line per
session: the email, a tab, the session's refresh token.
"""
import json
import re
import sys
import time
import urllib.request

PASSWORD = "Correct-Horse-7-Battery"


def call(base, method, path, body=None):
    """One JSON request: (status, body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def sign_up(base, label="bench"):
    """A new account: (email, the sign-up answer with its tokens)."""
    email = f"{label}-{int(time.time() * 1000)}@example.com"
    assert call(base, "POST", "/auth/signup", {"name": label, "email": email})[0] == 202
    mail = [m for m in call(base, "GET", "/_local/outbox")[1] if m["to"] == email][-1]
    code = re.search(r"\b\d{6}\b", mail["text"])[0]
    token = call(base, "POST", "/auth/signup/verify", {"email": email, "code": code})[1]["signup_token"]
    body = {"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD}
    status, created = call(base, "POST", "/auth/signup/complete", body)
    assert status == 201, created
    return email, created


def sessions(base, email, count):
    """`count` fresh sessions of the user (one password login each): their refresh tokens."""
    tokens = []
    for _ in range(count):
        status, body = call(base, "POST", "/auth/login", {"email": email, "password": PASSWORD})
        assert status == 200, body
        tokens.append(body["refresh_token"])
    return tokens


if __name__ == "__main__":
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:3000"
    email, created = sign_up(base, "load")
    if len(sys.argv) > 3:
        count, users = int(sys.argv[2]), int(sys.argv[4]) if len(sys.argv) > 4 else 1
        emails = [email] + [sign_up(base, f"load{n}")[0] for n in range(1, users)]
        lines = [f"{e}\t{token}" for e in emails for token in sessions(base, e, count // users)]
        with open(sys.argv[3], "w") as out:
            out.write("\n".join(lines) + "\n")
    print(created["access_token"])
