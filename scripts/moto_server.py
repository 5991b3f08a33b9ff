"""moto server, one request at a time, with a light read of the mails sent.

`moto_server` serves requests on many threads, and moto's conditional writes are a read then a
write without a lock: two concurrent TransactWriteItems can both pass `attribute_not_exists`
on the same key, which DynamoDB itself never allows, and `/moto-api/data.json` fails when
another request changes state while it is dumped. The suite's concurrency tests exist to prove
stepauth's conditions hold under races, so moto must apply each request atomically, as
DynamoDB does: this runs moto's own application without threads.

Served one at a time, every request waits for the one before; `/moto-api/data.json` dumps
every model moto holds (every test's table), which takes longer as the suite runs, and stalls
every other test's calls meanwhile. So the tests read the mails SES sent to one address from
`GET /stepauth/mails?to=<address>` (JSON: `[{"to", "subject", "body"}]`, oldest first),
which reads moto's SES backend directly.

Usage: python3 scripts/moto_server.py HOST PORT
"""

import json
import os
import sys
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.ses.models import ses_backends
from werkzeug.serving import run_simple

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
moto = DomainDispatcherApplication(create_backend_app)


def mails_to(address):
    """The mails moto's SES (v1 and v2 share it) sent to `address`, in every region."""
    found = []
    for backend in ses_backends[DEFAULT_ACCOUNT_ID].values():
        for message in backend.sent_messages:
            to = (getattr(message, "destinations", None) or {}).get("ToAddresses") or []
            if address in to:
                found.append({"to": address, "subject": message.subject, "body": message.body})
    return found


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/stepauth/mails":
        address = parse_qs(environ.get("QUERY_STRING", "")).get("to", [""])[0]
        body = json.dumps(mails_to(address)).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return moto(environ, start_response)


run_simple(host, port, app, threaded=False)
