"""schemathesis hooks for .ci/contract: how to put a push body (application/x-ndjson) on the wire.

The push body is text, one JSON record per line; the schema calls it a string. A generated string
goes as UTF-8 (lone surrogates replaced). Anything that is not a string (schemathesis's schema-
violating bodies) is sent as no body at all: on the wire, an object would be indistinguishable
from the text of a valid push.
"""
import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    return None
