"""The one client the scripts share: JSON requests to a running stepauth, a code read from
the local server's outbox (GET /_local/outbox), a sign-up, sessions, and the authenticator
code of a secret (RFC 6238: SHA-1, 6 digits, 30-second steps).

Used by scripts/totp-code (so by the README's Google Authenticator walkthrough, which
scripts/readme-commands runs) and by the benchmarks in scripts/bench/.

As a command: python3 scripts/stepauth_client.py BASE_URL prints a new user's access token;
python3 scripts/stepauth_client.py BASE_URL SESSIONS FILE [USERS] also signs up USERS users
(default 1) in all, logs them in SESSIONS times in all, and writes to FILE one line per
session: the email, a tab, the session's refresh token (scripts/bench/load's input).
"""
import base64
import hmac
import json
import re
import struct
import sys
import time
import urllib.request

PASSWORD = "Correct-Horse-7-Battery"


def request(base, method, path, body=None, token=None):
    """One JSON request: (status, the JSON answer or None, the response headers)."""
    data = json.dumps(body).encode() if body is not None else None
    outgoing = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        outgoing.add_header("content-type", "application/json")
    if token:
        outgoing.add_header("authorization", f"Bearer {token}")
    try:
        response = urllib.request.urlopen(outgoing)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        text = response.read()
        answer = json.loads(text) if text[:1] in (b"{", b"[") else None
        return response.status, answer, response.headers


def call(base, method, path, body=None, token=None):
    """One JSON request: (status, the JSON answer)."""
    status, answer, _ = request(base, method, path, body, token)
    return status, answer


def last_code(base, email):
    """The six-digit code of the last mail the local server sent to `email`."""
    mail = [m for m in call(base, "GET", "/_local/outbox")[1] if m["to"] == email][-1]
    return re.search(r"\b\d{6}\b", mail["text"])[0]


def totp(secret, offset=0, now=None):
    """The authenticator code of a base32 `secret` at `now` (default: the clock), `offset`
    30-second steps later."""
    secret = secret.strip().upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(time.time() if now is None else now) // 30 + offset
    digest = hmac.new(key, struct.pack(">Q", counter), "sha1").digest()
    start = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[start:start + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def sign_up(base, email, password=PASSWORD, name="Bench", send=request):
    """Signs `email` up (code from the outbox): the sign-up's answer, with its tokens.
    `send` makes each request (a benchmark passes one that records timings)."""
    status, answer, _ = send(base, "POST", "/auth/signup", {"name": name, "email": email})
    assert status == 202, answer
    status, answer, _ = send(base, "POST", "/auth/signup/verify", {"email": email, "code": last_code(base, email)})
    assert status == 200, answer
    body = {"signup_token": answer["signup_token"], "password": password, "confirm_password": password}
    status, created, _ = send(base, "POST", "/auth/signup/complete", body)
    assert status == 201, created
    return created


def new_email(label):
    """A fresh address."""
    return f"{label}-{int(time.time() * 1000)}@example.com"


def sessions(base, email, count, password=PASSWORD):
    """`count` fresh sessions of the user (one password login each): their refresh tokens."""
    tokens = []
    for _ in range(count):
        status, body = call(base, "POST", "/auth/login", {"email": email, "password": password})
        assert status == 200, body
        tokens.append(body["refresh_token"])
    return tokens


if __name__ == "__main__":
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:3000"
    email = new_email("load")
    created = sign_up(base, email, name="load")
    if len(sys.argv) > 3:
        count, users = int(sys.argv[2]), int(sys.argv[4]) if len(sys.argv) > 4 else 1
        emails = [email]
        for n in range(1, users):
            emails.append(new_email(f"load{n}"))
            sign_up(base, emails[-1], name="load")
        lines = [f"{e}\t{token}" for e in emails for token in sessions(base, e, count // users)]
        with open(sys.argv[3], "w") as out:
            out.write("\n".join(lines) + "\n")
    print(created["access_token"])
