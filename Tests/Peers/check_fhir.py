"""Reads a FHIR Bundle from stdin, as `casehub export --format fhir` writes it, and checks it
with a real FHIR parser: fhir.resources' R4B models (R4B is R4 for every resource the export
uses). Then it checks what a parser does not: every reference resolves inside the bundle,
ids agree with full URLs, and the AuditEvents' hash chain verifies from the bundle alone.

Prints one JSON object that the Swift test reads: resource counts, the chain's verdict, and
the resources in a simplified form. Exits 1 with the parser's error when the bundle is invalid.
"""
import base64
import collections
import hashlib
import json
import sys

from fhir.resources.R4B.bundle import Bundle

text = sys.stdin.read()
try:
    Bundle.model_validate_json(text)
except Exception as error:  # the parser's own message says which element is wrong
    print(f"invalid FHIR R4B bundle: {error}", file=sys.stderr)
    sys.exit(1)

bundle = json.loads(text)
entries = bundle.get("entry", [])
full_urls = [entry["fullUrl"] for entry in entries]
by_url = {entry["fullUrl"]: entry["resource"] for entry in entries}


def references(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def resolve(reference):
    resource = by_url.get(reference["reference"]) if reference else None
    return f"{resource['resourceType']}/{resource['id']}" if resource else None


def detail(event, name):
    for item in event["entity"][0]["detail"]:
        if item["type"] == name:
            return item.get("valueString") or item.get("valueBase64Binary")
    return None


events = sorted((r for r in by_url.values() if r["resourceType"] == "AuditEvent"), key=lambda r: int(detail(r, "seq")))
chain_ok, first_bad, previous = True, None, "0" * 64
for event in events:
    covered = base64.b64decode(detail(event, "entry"))
    recomputed = hashlib.sha256(detail(event, "prev_hash").encode() + covered).hexdigest()
    if detail(event, "prev_hash") != previous or recomputed != detail(event, "hash") or json.loads(covered)["seq"] != int(detail(event, "seq")):
        chain_ok, first_bad = False, int(detail(event, "seq"))
        break
    previous = detail(event, "hash")


def extension(resource, url):
    return [item for item in resource.get("extension", []) if item["url"] == url]


communications = []
for resource in by_url.values():
    if resource["resourceType"] != "Communication":
        continue
    payload = resource.get("payload", [])
    attachment = next((p["contentAttachment"] for p in payload if "contentAttachment" in p), None)
    relayed = extension(resource, "urn:casehub:extension:relayed-from")
    communications.append({
        "id": resource["id"],
        "status": resource["status"],
        "thread": resource["category"][0]["coding"][0]["code"],
        "kind": resource["category"][1]["coding"][0]["code"],
        "priority": resource.get("priority"),
        "text": next((p["contentString"] for p in payload if "contentString" in p), None),
        "data": json.loads(base64.b64decode(attachment["data"])) if attachment else None,
        "sender": resolve(resource["sender"]),
        "recipients": sorted(resolve(r) for r in resource.get("recipient", [])),
        "in_response_to": [resolve(r) for r in resource.get("inResponseTo", [])],
        "relayed_from": resolve(relayed[0]["valueReference"]) if relayed else None,
        "acks": len(extension(resource, "urn:casehub:extension:ack")),
        "edited": bool(extension(resource, "urn:casehub:extension:edited-at")),
        "seq": extension(resource, "urn:casehub:extension:log-seq")[0]["valueInteger"],
    })

print(json.dumps({
    "type": bundle["type"],
    "counts": collections.Counter(r["resourceType"] for r in by_url.values()),
    "duplicate_full_urls": len(full_urls) - len(set(full_urls)),
    "ids_disagreeing": [u for u, r in by_url.items() if u != f"urn:uuid:{r['id']}"],
    "unresolved": sorted({ref for ref in references(entries) if ref not in by_url}),
    "chain": {"ok": chain_ok, "entries": len(events), "first_bad_seq": first_bad},
    "hashes": [detail(event, "hash") for event in events],
    "types": [event["type"]["code"] for event in events],
    "communications": sorted(communications, key=lambda c: c["seq"]),
    "tasks": sorted((r["status"], r["businessStatus"]["coding"][0]["code"]) for r in by_url.values() if r["resourceType"] == "Task"),
    "participants": sorted(f"{r['resourceType']}/{r['id']}" for r in by_url.values()
                           if r["resourceType"] in ("Practitioner", "RelatedPerson", "Organization", "Patient")),
}))
