#!/usr/bin/env python3
"""The local stack's `credential_process`: hands each function its own access key, as Lambda
hands each function its role's credentials.

`cargo lambda watch` names the function it starts in AWS_LAMBDA_FUNCTION_NAME; the SDK's default
chain runs this script (AWS_CONFIG_FILE written by stack.py) and signs with what it prints. The
gateways then hold every call to that function's policy in template.yaml (iam.py). A function
run in the second region (AWS_REGION is not PRIMARY_REGION) is infra/replica.yaml's, with its
own policy: `files-api@us-west-2`.
"""
import json
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import iam  # noqa: E402

function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
if not function:
    sys.exit("credentials.py: AWS_LAMBDA_FUNCTION_NAME is not set (run it as a function's credential_process)")
region = os.environ.get("AWS_REGION")
if region and region != os.environ.get("PRIMARY_REGION", region):
    function = iam.second_region_function(function, region)
print(json.dumps({"Version": 1, "AccessKeyId": iam.access_key(function), "SecretAccessKey": "local"}))
