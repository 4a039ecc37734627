#!/usr/bin/env python3
"""Takes a whole region of the local stack down, or brings it back, as an AWS region outage
does: its table replica, its bucket and so its functions (which then answer 503 within a second,
and the front sends reads to the other region).

    python3 infra/local/region.py down eu-west-1     # the primary region: uploads stop, reads fail over
    python3 infra/local/region.py hang eu-west-1     # it accepts connections and never answers
    python3 infra/local/region.py up eu-west-1
    python3 infra/local/region.py status             # each region's switches, and whether its tables agree

It flips the fault switch of each of the region's gateways (gateway.py); the endpoints come from
regions.json, which infra/local/stack.py writes in its state directory (TWINSHARE_STATE_DIR,
default .local).
"""
import argparse
import json
import os
import pathlib
import sys
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
STATE = pathlib.Path(os.environ.get("TWINSHARE_STATE_DIR", ROOT / ".local"))
# The emulators a region's outage takes with it (its API fails because they do).
PARTS = ("metadata", "storage")
TABLES = ("twinshare-files", "twinshare-health", "twinshare-search")
MODES = {"down": "down", "hang": "hang", "up": "ok"}


def regions():
    path = STATE / "regions.json"
    if not path.exists():
        sys.exit(f"{path} does not exist: start the local stack first (infra/run)")
    return json.loads(path.read_text())


def set_fault(endpoint, mode):
    request = urllib.request.Request(f"{endpoint}/__twinshare/fault", data=mode.encode(), method="PUT")
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def fault(endpoint):
    with urllib.request.urlopen(f"{endpoint}/__twinshare/fault", timeout=5) as response:
        return response.read().decode().strip()


def table_items(region, endpoint, table):
    """{key: item} of a table in one region (the operator's key: the gateways let it read)."""
    import boto3

    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from provision import CREDENTIALS

    client = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, **CREDENTIALS)
    keys = [k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]]
    items = {}
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            items[json.dumps([item[k] for k in keys], sort_keys=True)] = json.dumps(item, sort_keys=True)
    return items


def agreement(known):
    """One line per table: the items each region holds, and whether they are the same."""
    lines = []
    for table in TABLES:
        try:
            held = {name: table_items(name, endpoints["metadata"], table) for name, endpoints in known.items()}
        except Exception as err:  # noqa: BLE001  (a region that is down cannot be compared)
            lines.append(f"{table}: cannot compare ({err.__class__.__name__})")
            continue
        counts = ", ".join(f"{name} {len(items)} items" for name, items in held.items())
        first, *others = held.values()
        differing = {k for items in others for k in set(first) | set(items) if first.get(k) != items.get(k)}
        lines.append(f"{table}: {counts}; " + ("the same in every region" if not differing
                                               else f"{len(differing)} items differ (replication catching up?)"))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=[*MODES, "status"])
    parser.add_argument("region", nargs="?")
    args = parser.parse_args()
    known = regions()
    if args.action == "status":
        for name, endpoints in known.items():
            print(name, " ".join(f"{part}={fault(endpoints[part])}" for part in PARTS))
        print("\n".join(agreement(known)))
        return
    if args.region not in known:
        sys.exit(f"no region {args.region!r} in the local stack: {', '.join(known)}")
    for part in PARTS:
        set_fault(known[args.region][part], MODES[args.action])
    print(f"{args.region}: {args.action}")


if __name__ == "__main__":
    main()
