"""moto server, one request at a time.

`moto_server` serves requests on many threads, and moto's conditional writes are a read then a
write without a lock: two concurrent TransactWriteItems can both pass `attribute_not_exists`
on the same key, which DynamoDB itself never allows, and `/moto-api/data.json` fails when
another request changes state while it is dumped. The suite's concurrency tests exist to prove
stepauth's conditions hold under races, so moto must apply each request atomically, as
DynamoDB does: this runs moto's own application without threads.

Usage: python3 scripts/moto_server.py HOST PORT
"""

import os
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
run_simple(host, port, DomainDispatcherApplication(create_backend_app), threaded=False)
