"""Users as the old Django backend stores them, made by Django itself: each password hashed
by `django.contrib.auth.hashers.make_password` with the hasher named, written the way
`python manage.py dumpdata accounts.User --format json` writes a custom email user model.

    python make_users.py OUT_DIR

writes OUT_DIR/users.json (the dumpdata file), OUT_DIR/users.csv (the same, as CSV with a
header row) and OUT_DIR/passwords.json ({email: password}, for the tests only).
"""

import csv
import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ],
    USE_TZ=True,
)
django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402

# (label, hasher, extra fields): one user per way the old backend may have stored one.
USERS = [
    ("pbkdf2", "default", {}),
    ("pbkdf2-sha1", "pbkdf2_sha1", {}),
    ("argon2", "argon2", {}),
    ("bcrypt-sha256", "bcrypt_sha256", {}),
    ("bcrypt", "bcrypt", {}),
    ("staff", "default", {"is_staff": True}),
    ("inactive", "default", {"is_active": False}),
    ("totp", "default", {"google_authenticator_secret": "JBSWY3DPEHPK3PXP"}),
    ("unusable", None, {}),
    # What the old table kept of a person (issue 22), and values the rules here refuse.
    ("profiled", "default", {
        "name": "", "first_name": "Zoë", "last_name": "Ångström", "username": "zoe.{tag}", "short_name": "Zo",
        "phone": "+44 20 7946 0958", "gender": "female", "date_of_birth": "1990-04-01",
        "profile_picture": "https://old.example.com/media/zoe.png",
    }),
    ("badprofile", "default", {
        "username": "admin", "phone": "12345", "date_of_birth": "1990-02-30", "profile_picture": "avatars/x.png",
    }),
    ("dupname", "default", {"username": "ZOE.{tag}"}),
]


def main(out):
    os.makedirs(out, exist_ok=True)
    tag = os.environ.get("STEPAUTH_DJANGO_TAG", "moved")
    records, passwords = [], {}
    for pk, (label, hasher, extra) in enumerate(USERS, start=1):
        email = f"{label}-{tag}@old.example.com"
        password = f"Moved-In-{label}-{pk}!"
        if hasher is None:
            hashed = make_password(None)
        elif hasher == "default":
            hashed = make_password(password)
        else:
            hashed = make_password(password, hasher=hasher)
        fields = {
            "password": hashed,
            "last_login": "2025-06-01T09:30:00Z" if pk % 2 else None,
            "is_superuser": False,
            "email": email,
            "name": f"Old User {pk}",
            "is_active": True,
            "is_staff": False,
            "date_joined": "2024-01-1%dT08:00:00Z" % (pk % 10),
            "google_authenticator_secret": "",
            "first_name": "",
            "last_name": "",
            "username": "",
            "short_name": "",
            "phone": "",
            "gender": "",
            "date_of_birth": None,
            "profile_picture": "",
            "groups": [],
            "user_permissions": [],
        }
        fields.update({k: v.format(tag=tag)[:30] if k == "username" else v for k, v in extra.items()})
        records.append({"model": "accounts.user", "pk": pk, "fields": fields})
        passwords[email] = password
    with open(os.path.join(out, "users.json"), "w") as f:
        json.dump(records, f, indent=2)
    columns = ["email", "name", "password", "is_active", "is_staff", "is_superuser", "date_joined", "last_login",
               "google_authenticator_secret", "first_name", "last_name", "username", "short_name", "phone", "gender",
               "date_of_birth", "profile_picture"]
    with open(os.path.join(out, "users.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for record in records:
            writer.writerow(["" if record["fields"][c] is None else record["fields"][c] for c in columns])
    with open(os.path.join(out, "passwords.json"), "w") as f:
        json.dump(passwords, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1])
