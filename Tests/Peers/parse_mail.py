#!/usr/bin/env python3
"""Parses one raw e-mail from stdin with Python's email package and prints what a mail
program would show, as JSON: decoded headers, each part's type, charset and text, and every
defect the parser found in any header or part."""
import json
import sys
from email import policy
from email.parser import BytesParser

message = BytesParser(policy=policy.default).parsebytes(sys.stdin.buffer.read())
parts = []
for part in message.walk():
    if part.is_multipart():
        continue
    parts.append({
        "type": part.get_content_type(),
        "charset": part.get_content_charset(),
        "text": part.get_content(),
    })
# Defects of every header and part, gathered once decoding has run (bad base64 shows then).
defects = []
for part in message.walk():
    defects += [f"{part.get_content_type()}: {d!r}" for d in part.defects]
    for value in part.values():
        defects += [f"{part.get_content_type()} header: {d!r}" for d in getattr(value, "defects", ())]
print(json.dumps({
    "subject": str(message["subject"]),
    "from": str(message["from"]),
    "to": str(message["to"]),
    "to_name": message["to"].addresses[0].display_name if message["to"] else None,
    "date": str(message["date"]),
    "message_id": str(message["message-id"]),
    "in_reply_to": str(message["in-reply-to"]),
    "references": str(message["references"]),
    "content_type": message.get_content_type(),
    "defects": defects,
    "parts": parts,
}))
