#!/usr/bin/env python3
"""Each function's permissions, exactly as template.yaml grants them, held against every call.

On AWS each function runs as its own role, and a call its policy does not allow is refused. The
emulator cannot do that here (moto checks DynamoDB only against `*`, and answers every presigned
URL 500 once its auth is on), so the local gateways (gateway.py) do it in front of moto:

- `resolved_policies` reads every function's inline policies from template.yaml and resolves
  their references (!GetAtt FilesTable.Arn, !Sub "…${AWS::Region}-primary/files/*") to the local
  stack's names: the exact tables, indexes, buckets and key prefixes, as deployed;
- each function signs with its own local access key (`access_key`; credentials.py hands it to
  the function the local stack runs, the integration tests build each function with it);
- `classify` turns a signed HTTP request (SDK call or presigned URL) into the IAM actions and
  resource ARNs AWS would authorize it against (a CopyObject needs s3:GetObject on its source);
- `PolicyBook.decide` evaluates them with moto's own IAM policy evaluator, and `Recorder`
  writes every decision to a JSON-lines file, which the tests read afterwards (`check_records`).

    iam.py policies --out policies.json           # the resolved policies of the local stack
    iam.py check calls/*.jsonl                    # fails on any refused call; prints a summary
"""
import argparse
import collections
import copy
import json
import os
import pathlib
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, str(pathlib.Path(__file__).parent))

ROOT = pathlib.Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"  # moto's account
PARTITION = "aws"
# The operator's key: the provisioner and the tests' own inspection, unrestricted (on AWS, an
# administrator deploying the stack).
OPERATOR_KEY = "twinshare-local"
FUNCTION_KEY_PREFIX = "twinshare-fn-"


def access_key(function):
    """The local access key id a function signs with (its secret is not checked locally)."""
    return FUNCTION_KEY_PREFIX + function


def function_of(key):
    """The function an access key belongs to; None for the operator; "anonymous" for no key."""
    if key is None:
        return "anonymous"
    if key == OPERATOR_KEY:
        return None
    if key.startswith(FUNCTION_KEY_PREFIX):
        return key[len(FUNCTION_KEY_PREFIX):]
    return f"unknown key {key}"


# --- template.yaml → each function's policy, with the local names ---------------------------

class LocalNames:
    """The local stack's names for what template.yaml creates."""

    def __init__(self, *, region, replica_region, table, health_table, bucket, replica_bucket,
                 search_table="twinshare-search"):
        self.region = region
        self.replica_region = replica_region
        self.tables = {"FilesGlobalTable": table, "HealthGlobalTable": health_table, "SearchGlobalTable": search_table}
        self.buckets = {"primary": bucket, "replica": replica_bucket}

    def table_arn(self, table, region=None):
        return f"arn:{PARTITION}:dynamodb:{region or self.region}:{ACCOUNT}:table/{table}"


def _resolve(value, names, parameters):
    """Resolves the intrinsic functions a policy uses (Ref, Sub, GetAtt, Join)."""
    if isinstance(value, list):
        return [_resolve(v, names, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, argument), = value.items()
        if key in ("Ref", "Fn::Ref"):
            return parameters[argument]
        if key in ("GetAtt", "Fn::GetAtt"):
            return _get_att(argument if isinstance(argument, str) else ".".join(argument), names)
        if key in ("Sub", "Fn::Sub"):
            text, extra = (argument, {}) if isinstance(argument, str) else argument
            scope = {**parameters, **{k: _resolve(v, names, parameters) for k, v in extra.items()}}
            return _substitute(text, scope, names)
        if key in ("Join", "Fn::Join"):
            separator, parts = argument
            return separator.join(_resolve(parts, names, parameters))
    return {k: _resolve(v, names, parameters) for k, v in value.items()}


def _get_att(reference, names):
    resource, attribute = reference.split(".", 1)
    if resource in names.tables and attribute == "Arn":
        return names.table_arn(names.tables[resource])
    if reference == "ReplicaBucket.Arn":  # infra/replica.yaml's own bucket
        return f"arn:{PARTITION}:s3:::{names.buckets['replica']}"
    raise ValueError(f"no local value for !GetAtt {reference}: add it to iam.LocalNames")


def _substitute(text, scope, names):
    out, rest = [], text
    while "${" in rest:
        before, _, after = rest.partition("${")
        reference, _, rest = after.partition("}")
        out.append(before)
        if reference.startswith("!"):
            out.append("${" + reference[1:] + "}")
        elif reference in scope:
            out.append(str(scope[reference]))
        else:
            out.append(_get_att(reference, names))
    return "".join(out) + rest


def _deployed_bucket_names(names, parameters):
    """Deployed bucket name → local bucket name (template.yaml names buckets by account and region)."""
    import provision
    primary = provision.load_template()["Resources"]["PrimaryBucket"]["Properties"]["BucketName"]
    replica = provision.load_template(ROOT / "infra/replica.yaml")["Resources"]["ReplicaBucket"]["Properties"]["BucketName"]
    return {
        _resolve(primary, names, parameters): names.buckets["primary"],
        _resolve(replica, names, {**parameters, "AWS::Region": names.replica_region}): names.buckets["replica"],
    }


def _rename_buckets(value, renames):
    if isinstance(value, list):
        return [_rename_buckets(v, renames) for v in value]
    if isinstance(value, dict):
        return {k: _rename_buckets(v, renames) for k, v in value.items()}
    if isinstance(value, str):
        for deployed, local in renames.items():
            value = value.replace(f":::{deployed}", f":::{local}")
    return value


def second_region_function(function, region):
    """The name a function deployed by infra/replica.yaml signs as locally (`files-api@us-west-2`):
    the same binary as the primary's, with its own role and policy."""
    return f"{function}@{region}"


def resolved_policies(names, template=None):
    """{function: [policy document, …]} for every function in template.yaml, and in
    infra/replica.yaml (as `second_region_function`), in local names."""
    import provision  # reads YAML: only here, so credentials.py starts fast
    primary = template or provision.load_template()
    parameters = {
        name: spec.get("Default") for name, spec in primary.get("Parameters", {}).items()
    } | {
        "AWS::AccountId": ACCOUNT, "AWS::Region": names.region, "AWS::Partition": PARTITION,
        "ReplicaRegion": names.replica_region,
    }
    second = provision.load_template(ROOT / "infra/replica.yaml")
    # The second region's stack is given the primary's names (README "Deploy").
    second_parameters = {
        name: spec.get("Default") for name, spec in second.get("Parameters", {}).items()
    } | {
        "AWS::AccountId": ACCOUNT, "AWS::Region": names.replica_region, "AWS::Partition": PARTITION,
        "PrimaryRegion": names.region, "FilesTableName": names.tables["FilesGlobalTable"],
        "HealthTableName": names.tables["HealthGlobalTable"], "SearchTableName": names.tables["SearchGlobalTable"],
    }
    renames = _deployed_bucket_names(names, parameters)
    policies = _template_policies(primary, names, parameters, renames, lambda function: function)
    policies |= _template_policies(second, names, second_parameters, renames,
                                   lambda function: second_region_function(function, names.replica_region))
    return policies


def _template_policies(template, names, parameters, renames, name_of):
    policies = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        function = name_of(resource["Metadata"]["BuildProperties"]["Binary"])
        documents = []
        for policy in resource["Properties"].get("Policies", []):
            if not (isinstance(policy, dict) and "Statement" in policy):
                raise ValueError(f"{function}: only inline policy documents are resolved locally, not {policy!r}")
            documents.append(_rename_buckets(_resolve(policy, names, parameters), renames))
        policies[function] = documents
    return policies


# --- an HTTP request → the IAM actions and resources AWS authorizes it against --------------

def credential_scope(headers, query):
    """(access key, region, service) of a SigV4-signed request or presigned URL; Nones if unsigned.
    `headers` has lower-case names."""
    credential = query.get("X-Amz-Credential", [None])[0]
    if credential is None:
        authorization = headers.get("authorization") or ""
        if "Credential=" in authorization:
            credential = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    if not credential:
        return None, None, None
    parts = credential.strip().split("/")
    return parts[0], (parts[2] if len(parts) > 2 else None), (parts[3] if len(parts) > 3 else None)


S3_BUCKET_SUBRESOURCES = {
    ("GET", "uploads"): "s3:ListBucketMultipartUploads",
    ("GET", "location"): "s3:GetBucketLocation",
    ("GET", "cors"): "s3:GetBucketCORS",
    ("PUT", "cors"): "s3:PutBucketCORS",
    ("GET", "notification"): "s3:GetBucketNotification",
    ("PUT", "notification"): "s3:PutBucketNotification",
    ("GET", "versioning"): "s3:GetBucketVersioning",
    ("GET", "policy"): "s3:GetBucketPolicy",
}
LIST_PARAMETERS = {"list-type", "prefix", "delimiter", "max-keys", "continuation-token", "start-after",
                   "marker", "encoding-type", "fetch-owner"}


def classify_s3(method, path, query, headers, body=b""):
    """[(action, resource ARN), …] that S3 authorizes this request against (path-style URLs;
    `headers` has lower-case names)."""
    bucket, _, key = urllib.parse.unquote(path.split("?", 1)[0]).lstrip("/").partition("/")
    bucket_arn = f"arn:{PARTITION}:s3:::{bucket}"
    object_arn = f"{bucket_arn}/{key}"
    if not key:
        if method == "POST" and "delete" in query:
            keys = [e.text or "" for e in ET.fromstring(body).iter() if e.tag.endswith("Key")]
            return [("s3:DeleteObject", f"{bucket_arn}/{k}") for k in keys]
        for (verb, subresource), action in S3_BUCKET_SUBRESOURCES.items():
            if method == verb and subresource in query:
                return [(action, bucket_arn)]
        if method in ("GET", "HEAD") and set(query) <= LIST_PARAMETERS:
            return [("s3:ListBucket", bucket_arn)]
        if method == "PUT" and not query:
            return [("s3:CreateBucket", bucket_arn)]
        if method == "DELETE" and not query:
            return [("s3:DeleteBucket", bucket_arn)]
        return [(f"s3:Unrecognised:{method} ?{'&'.join(sorted(query))}", bucket_arn)]
    copy_source = headers.get("x-amz-copy-source")
    if method == "PUT" and copy_source:  # CopyObject, UploadPartCopy
        source = urllib.parse.unquote(copy_source.split("?", 1)[0]).lstrip("/")
        return [("s3:PutObject", object_arn), ("s3:GetObject", f"arn:{PARTITION}:s3:::{source}")]
    if "tagging" in query:
        return [({"GET": "s3:GetObjectTagging", "PUT": "s3:PutObjectTagging",
                  "DELETE": "s3:DeleteObjectTagging"}.get(method, "s3:Unrecognised"), object_arn)]
    if method in ("GET", "HEAD"):
        if "uploadId" in query:
            return [("s3:ListMultipartUploadParts", object_arn)]
        return [("s3:GetObjectVersion" if "versionId" in query else "s3:GetObject", object_arn)]
    if method == "PUT" or (method == "POST" and ("uploads" in query or "uploadId" in query)):
        return [("s3:PutObject", object_arn)]  # PutObject, UploadPart, Create/CompleteMultipartUpload
    if method == "DELETE":
        return [("s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject", object_arn)]
    return [(f"s3:Unrecognised:{method} ?{'&'.join(sorted(query))}", object_arn)]


# The actions a transaction item needs, by the item's kind.
TRANSACT_ITEMS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                  "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def classify_dynamodb(target, body, region):
    """[(action, resource ARN), …] that DynamoDB authorizes this call against."""
    operation = target.rsplit(".", 1)[-1]
    request = json.loads(body or b"{}")

    def arn(table, index=None):
        base = table if table.startswith("arn:") else f"arn:{PARTITION}:dynamodb:{region}:{ACCOUNT}:table/{table}"
        return f"{base}/index/{index}" if index else base

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", arn(table)) for table in request.get("RequestItems", {})]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        calls = []
        for item in request.get("TransactItems", []):
            for kind, detail in item.items():
                calls.append((f"dynamodb:{TRANSACT_ITEMS[kind]}", arn(detail["TableName"])))
        return calls
    if "TableName" in request:
        return [(f"dynamodb:{operation}", arn(request["TableName"], request.get("IndexName")))]
    return [(f"dynamodb:{operation}", "*")]  # ListTables and the like


def classify(method, path, headers, body):
    """(access key, [(action, resource)]) of a request; ([]) for what IAM does not authorize
    (CORS preflights, the emulator's own control API)."""
    headers = {name.lower(): value for name, value in headers.items()}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query, keep_blank_values=True)
    key, region, service = credential_scope(headers, query)
    if method == "OPTIONS" or path.startswith("/moto-api"):
        return key, []
    target = headers.get("x-amz-target") or ""
    if service == "dynamodb" or target.startswith("DynamoDB_"):
        return key, classify_dynamodb(target, body, region)
    return key, classify_s3(method, path, query, headers, body)


# --- decisions -----------------------------------------------------------------------------

class PolicyBook:
    """The functions' resolved policies, re-read when their file changes (a test may narrow one)."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.lock = threading.Lock()
        self.loaded_at = None
        self.policies = {}

    def current(self):
        with self.lock:
            changed = self.path.stat().st_mtime_ns
            if changed != self.loaded_at:
                self.policies = json.loads(self.path.read_text())
                self.loaded_at = changed
            return self.policies

    def decide(self, function, action, resource):
        return allows(self.current().get(function, []), action, resource)


def allows(documents, action, resource):
    """True if the policies allow the action on the resource (moto's IAM evaluator decides)."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    results = [IAMPolicy(json.dumps(d)).is_action_permitted(action, resource) for d in documents]
    return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results


class Recorder:
    """Appends each decision as one JSON line; shared by a gateway's threads."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def record(self, **decision):
        line = json.dumps(decision, sort_keys=True) + "\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)


def read_records(paths):
    records = []
    for path in paths:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                records.extend(json.loads(line) for line in f if line.strip())
    return records


def check_records(paths, policies=None):
    """Refused calls (each re-evaluated against `policies` when given), and a summary table."""
    records = read_records(paths)
    refused = []
    for r in records:
        allowed = r["allowed"] if policies is None else allows(policies.get(r["function"], []), r["action"], r["resource"])
        if not allowed:
            refused.append(r)
    counts = collections.Counter((r["function"], r["action"]) for r in records)
    summary = "\n".join(f"{function:<12} {action:<32} {n:>6}" for (function, action), n in sorted(counts.items()))
    return refused, summary


def without_action(documents, action):
    """A copy of the policies with one action removed wherever it is allowed (for tests)."""
    narrowed = copy.deepcopy(documents)
    for document in narrowed:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != action] or ["none:Nothing"]
    return narrowed


def with_resource_replaced(documents, old, new):
    """A copy of the policies with one resource narrowed (for tests)."""
    narrowed = copy.deepcopy(documents)
    for document in narrowed:
        for statement in document["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            statement["Resource"] = [new if r == old else r for r in resources]
    return narrowed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("policies", help="write the functions' resolved policies as JSON")
    write.add_argument("--out", required=True)
    for option, default in (("region", "eu-west-1"), ("replica-region", "us-west-2"), ("table", "twinshare-files"),
                            ("health-table", "twinshare-health"), ("search-table", "twinshare-search"),
                            ("bucket", "twinshare-primary"),
                            ("replica-bucket", "twinshare-replica")):
        write.add_argument(f"--{option}", default=default)
    check = commands.add_parser("check", help="fail on any refused call in the recorded calls")
    check.add_argument("records", nargs="+")
    check.add_argument("--policies", help="re-evaluate every call against these resolved policies")
    args = parser.parse_args()
    if args.command == "policies":
        names = LocalNames(region=args.region, replica_region=args.replica_region, table=args.table,
                           health_table=args.health_table, search_table=args.search_table, bucket=args.bucket,
                           replica_bucket=args.replica_bucket)
        pathlib.Path(args.out).write_text(json.dumps(resolved_policies(names), indent=2))
        return
    policies = json.loads(pathlib.Path(args.policies).read_text()) if args.policies else None
    refused, summary = check_records(args.records, policies)
    print(f"{'function':<12} {'action':<32} {'calls':>6}\n{summary}")
    seen = {r["function"] for r in read_records(args.records)}
    unseen = sorted(set(policies or {}) - seen) if policies else ([] if seen else ["any function"])
    if unseen:
        raise SystemExit(f"no calls recorded for {', '.join(unseen)}: does each function sign as itself?")
    if refused:
        for r in refused:
            print(f"REFUSED: {r['function']} {r['action']} on {r['resource']} ({r['request']})", file=sys.stderr)
        raise SystemExit(f"{len(refused)} calls were refused by their function's template policy")
    print("every recorded call is allowed by its function's policy in template.yaml")


if __name__ == "__main__":
    main()
