"""schemathesis hooks for scripts/fuzz-api: how the fuzzer signs in, and one check of ours.

Authentication: one admin account, signed up through the API itself (sign-up, the code
from the local server's outbox, a password), then a password login for a fresh access token
whenever the last one stops working (the fuzzer logs out with it, among other things).
The server runs with the lockout raised (scripts/fuzz-api), so that the fuzzer's wrong
current passwords do not lock the account it signs in with.
"""

import json
import os
import re
import secrets
import urllib.request

import schemathesis

BASE = os.environ["STEPAUTH_FUZZ_URL"]
EMAIL = os.environ["STEPAUTH_FUZZ_ADMIN"]
PASSWORD = "Fuzz-" + secrets.token_urlsafe(12) + "-9a"


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def sign_up():
    call("POST", "/auth/signup", {"name": "Fuzz Admin", "email": EMAIL})
    mail = [m for m in call("GET", "/_local/outbox") if m["to"] == EMAIL][-1]
    code = re.search(r"\b\d{6}\b", mail["text"])[0]
    token = call("POST", "/auth/signup/verify", {"email": EMAIL, "code": code})["signup_token"]
    complete = {"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD}
    return call("POST", "/auth/signup/complete", complete)["access_token"]


@schemathesis.auth(refresh_interval=5)
class SignedIn:
    """A fresh access token of the admin account (re-fetched on a 401, see retry_on)."""

    signed_up = False

    def get(self, case, context):
        if not SignedIn.signed_up:
            SignedIn.signed_up = True
            return sign_up()
        return call("POST", "/auth/login", {"email": EMAIL, "password": PASSWORD})["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# The answers that say the request itself is malformed. Schema-valid data may be refused for
# what it names (a code that is wrong, a token that is not one we issued: 400, 401, 404, 423),
# never for its shape: the default positive_data_acceptance check cannot tell the two 400s
# apart, so schemathesis.toml lets 400 through it and this check holds the line.
MALFORMED = {"invalid_json", "validation_failed", "payload_too_large", "unsupported_media_type"}


# The two rules no JSON Schema keyword can state, which the document states in words: the
# confirmation must equal the password, and a new password may not be a common one (nor, for a
# change, one of the account's last). A refusal that names only these is not about shape.
def beyond_the_schema(body):
    fields = body.get("fields") or {}
    confirmation_only = set(fields) <= {"confirm_password", "password"} and all(
        message == "must match the password" for message in fields.get("confirm_password", [])
    )
    rules = set(body.get("password_rules") or [])
    password_messages = fields.get("password", [])
    return (
        body.get("error") == "validation_failed"
        and confirmation_only
        and rules <= {"not_common", "not_reused"}
        and len(password_messages) == len(rules)
    )


# What a route asks as proof depends on the account, which no schema sees: the password if it
# has one (else a mailed code), the authenticator's code if it is on (docs/API.md, "Email
# change", "Deletion"). A refusal that names only these fields, with these messages, is about
# the account, not the shape of the request.
ACCOUNT_PROOFS = {
    "password": {"is required", "this account has no password: leave it out (a code is mailed)"},
    "code": {"is required (or give a recovery_code)", "Google Authenticator is not on for this account"},
    "current_code": {"is required: the code mailed to your current address", "is only for an account without a password"},
    "email_code": {"is only for an account without a password"},
}


def about_the_account(body):
    fields = body.get("fields") or {}
    return (
        body.get("error") == "validation_failed"
        and bool(fields)
        and all(name in ACCOUNT_PROOFS and set(messages) <= ACCOUNT_PROOFS[name] for name, messages in fields.items())
    )


# What a profile value must be beyond its pattern, which the document says in words: a
# username not reserved nor taken, a phone number a country hands out, a real date in the
# past; and the custom attributes, which each deployment declares (STEPAUTH_CUSTOM_ATTRIBUTES)
# and the document cannot list (docs/API.md, "Profile").
PROFILE_RULES = {
    "preferred_username": {"is reserved", "is already taken"},
    "phone_number": {"is not a valid phone number"},
    "birthdate": {"is not a real date", "must be a date between 1900-01-01 and yesterday"},
}


def about_the_data(body):
    fields = body.get("fields") or {}
    known = lambda name, messages: name.startswith("custom.") or set(messages) <= PROFILE_RULES.get(name, set())
    return body.get("error") == "validation_failed" and bool(fields) and all(known(n, m) for n, m in fields.items())


@schemathesis.check
def schema_valid_data_is_well_formed(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code in (400, 413, 415):
        try:
            code = response.json().get("error")
        except Exception:
            code = None
        body = response.json()
        if code in MALFORMED and not beyond_the_schema(body) and not about_the_account(body) and not about_the_data(body):
            raise AssertionError(f"schema-valid data refused as malformed: {response.status_code} {code}: {response.text[:300]}")
    return None
