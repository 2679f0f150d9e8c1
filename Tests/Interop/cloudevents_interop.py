#!/usr/bin/env python3
"""Interop check between Passerelle's CloudEvents JSON and the official CloudEvents Python SDK.

Usage: cloudevents_interop.py DIR

  DIR/ours/*.json    events encoded by Passerelle (Swift). Each is parsed with the SDK, its attributes
                     are checked against the raw JSON, and what the SDK understood is written to
                     DIR/parsed/<name>.json for the Swift side to compare with what it meant.
  DIR/sdk/*.json     written here: events built with the SDK and serialised by it, for the Swift
                     side to decode.

Works with SDK 2.x (cloudevents.core) and 1.x (cloudevents.http). Exit status: 0 success,
1 a check failed, 2 usage, 3 the SDK is not installed.
"""

import datetime
import json
import pathlib
import sys

try:
    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent as CoreCloudEvent

    SDK = "core"
except ImportError:
    try:
        from cloudevents.http import CloudEvent as HttpCloudEvent
        from cloudevents.http import from_json, to_json

        SDK = "http"
    except ImportError:
        print("cloudevents Python SDK not installed: pip install cloudevents", file=sys.stderr)
        sys.exit(3)

CORE_ATTRIBUTES = {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"}


def parse(raw: bytes):
    """Returns (attributes dict, data) as the SDK understood them."""
    if SDK == "core":
        event = JSONFormat().read(None, raw)
        return dict(event.get_attributes()), event.get_data()
    event = from_json(raw)
    return dict(event.get_attributes()), event.get_data()


def build(attributes: dict, data) -> bytes:
    if SDK == "core":
        return JSONFormat().write(CoreCloudEvent(dict(attributes), data))
    event = HttpCloudEvent(dict(attributes), data)
    return to_json(event)


def as_time(value) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def check_ours(path: pathlib.Path, out_dir: pathlib.Path) -> list:
    raw = path.read_bytes()
    expected = json.loads(raw)
    attributes, data = parse(raw)
    problems = []
    if attributes.get("specversion") != "1.0":
        problems.append(f"specversion {attributes.get('specversion')!r}")
    for name, value in expected.items():
        if name == "data":
            if data != value:
                problems.append(f"data {data!r} != {value!r}")
        elif name == "time":
            sdk_time = as_time(attributes.get("time"))
            if sdk_time.tzinfo is None or sdk_time != as_time(value):
                problems.append(f"time {attributes.get('time')!r} != {value!r}")
        elif attributes.get(name) != value:
            problems.append(f"attribute {name}: SDK read {attributes.get(name)!r}, file has {value!r}")
    for name in attributes:
        if name not in expected and name not in ("datacontenttype",):
            problems.append(f"SDK invented attribute {name}")
    summary = {
        "attributes": {k: (as_time(v).isoformat() if k == "time" else v) for k, v in attributes.items()},
        "extensions": sorted(k for k in attributes if k not in CORE_ATTRIBUTES),
        "data": data,
        "sdk": SDK,
    }
    (out_dir / path.name).write_text(json.dumps(summary, sort_keys=True))
    return [f"{path.name}: {p}" for p in problems]


def write_sdk_events(out_dir: pathlib.Path) -> None:
    paris = datetime.timezone(datetime.timedelta(hours=1))
    events = {
        "identified": (
            {
                "id": "sdk-1",
                "source": "/python/sdk",
                "type": "customer.identified.v1",
                "subject": "cus_py",
                "time": datetime.datetime(2026, 11, 24, 11, 0, 0, 123456, tzinfo=paris),
                "datacontenttype": "application/json",
                "partitionkey": "cus_py",
                "sequence": "000007",
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "tenant": "acme",
            },
            {
                "customerKey": "cus_py",
                "identities": [{"kind": "email", "value": "lea@example.fr"}],
                "channel": "web",
                "isNewCustomer": True,
            },
        ),
        "purchase": (
            {
                "id": "sdk-2",
                "source": "/python/sdk",
                "type": "pos.purchase.completed.v1",
                "time": datetime.datetime(2026, 11, 24, 10, 0, 0, tzinfo=datetime.timezone.utc),
                "partitionkey": "cus_py",
            },
            {
                "transaction": {
                    "storeId": "store-0042",
                    "workstationId": "till-03",
                    "businessDay": "2026-11-24",
                    "sequenceNumber": 1188,
                },
                "customerKey": "cus_py",
                "items": [{"sku": "PUMP-FLOOR-900", "quantity": 2, "unitPrice": {"amountMinor": 2999, "currency": "EUR"}}],
                "total": {"amountMinor": 5998, "currency": "EUR"},
                "couponCodes": [],
            },
        ),
    }
    for name, (attributes, data) in events.items():
        (out_dir / f"{name}.json").write_bytes(build(attributes, data))


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    parsed_dir = root / "parsed"
    sdk_dir = root / "sdk"
    parsed_dir.mkdir(exist_ok=True)
    sdk_dir.mkdir(exist_ok=True)
    ours = sorted((root / "ours").glob("*.json"))
    if not ours:
        print(f"no events in {root / 'ours'}", file=sys.stderr)
        return 1
    problems = []
    for path in ours:
        try:
            problems += check_ours(path, parsed_dir)
        except Exception as error:  # the SDK rejecting our JSON is the failure we look for
            problems.append(f"{path.name}: SDK rejected it: {type(error).__name__}: {error}")
    write_sdk_events(sdk_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"checked {len(ours)} Passerelle events with cloudevents SDK ({SDK}); wrote {len(list(sdk_dir.glob('*.json')))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
