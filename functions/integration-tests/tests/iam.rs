//! Each function runs with exactly its template policy (infra/local/iam.py, enforced by the
//! gateways). These tests take one permission away and see the call it covered refused, so we
//! know the check is real; every other test fails if any call it makes is refused.

use integration_tests::{sha256_base64, stack, Stack, BUCKET, REGION, TABLE};
use serde_json::Value;
use twinshare_api::UploadPlan;
use twinshare_core::ServiceSettings;

/// Applies `edit` to every statement of one function's policies, and enforces the result.
fn narrow(stack: &Stack, function: &str, edit: impl Fn(&mut serde_json::Map<String, Value>)) {
    let mut policies = stack.iam.policies();
    for document in policies[function].as_array_mut().unwrap() {
        for statement in document["Statement"].as_array_mut().unwrap() {
            edit(statement.as_object_mut().unwrap());
        }
    }
    stack.iam.set_policies(&policies);
}

/// The statement's actions or resources as a list (a policy may write either as a string).
fn list(statement: &mut serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    match &statement[key] {
        Value::String(one) => vec![one.clone()],
        many => serde_json::from_value(many.clone()).unwrap(),
    }
}

#[tokio::test]
async fn without_put_item_an_upload_is_refused_and_nothing_is_written() {
    let stack = stack(ServiceSettings::default()).await;
    narrow(&stack, "upload-api", |statement| {
        let actions = list(statement, "Action");
        statement["Action"] = actions.into_iter().filter(|a| a != "dynamodb:PutItem").collect();
    });
    let body = serde_json::json!({
        "name": "a.txt", "size": 3, "content_type": "text/plain",
        "sha256": sha256_base64(b"abc"), "visibility": "listed",
    });
    let response = stack.api("POST", "/api/uploads", Some(&body.to_string())).await;
    assert_eq!(
        response.status(),
        500,
        "a refused write is the server's fault, as on AWS"
    );
    assert_eq!(
        stack.iam.refused(),
        vec![format!(
            "upload-api dynamodb:PutItem on arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}"
        )]
    );
    assert_eq!(stack.record_count().await, 0);
    stack.iam.forget_calls();
}

#[tokio::test]
async fn a_presigned_upload_is_held_to_the_signing_functions_policy() {
    let stack = stack(ServiceSettings::default()).await;
    let template_policies = stack.iam.policies();
    // s3:PutObject narrowed from files/* to files/elsewhere/*; everything else as the template says.
    narrow(&stack, "upload-api", |statement| {
        let actions = list(statement, "Action");
        statement["Action"] = actions.into_iter().filter(|a| a != "s3:PutObject").collect();
    });
    let mut policies = stack.iam.policies();
    policies["upload-api"][0]["Statement"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "Effect": "Allow", "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{BUCKET}/files/elsewhere/*"),
        }));
    stack.iam.set_policies(&policies);
    let bytes = b"held to its policy";
    let created = stack.announce("held.txt", bytes, None, "listed").await;
    let UploadPlan::Single(put) = &created.upload else {
        panic!("a small file is one PUT")
    };
    assert_eq!(
        stack.send(put, bytes).await,
        403,
        "S3 refuses a URL its signer may not use"
    );
    let key = format!("arn:aws:s3:::{BUCKET}/files/{}", created.file.id);
    assert_eq!(stack.iam.refused(), vec![format!("upload-api s3:PutObject on {key}")]);
    stack.iam.forget_calls();

    // With the template's own policy again, the same URL works.
    stack.iam.set_policies(&template_policies);
    assert!(stack.send(put, bytes).await.is_success());
}

#[tokio::test]
async fn every_function_is_seen_calling_with_its_own_identity() {
    let stack = stack(ServiceSettings::default()).await;
    let shared = stack.share("seen.txt", b"seen by the gateways", None, "listed").await;
    stack.deliver_events().await;
    stack.download(&shared.id).await;
    sweep::handle(&stack.sweep).await.unwrap();
    stack
        .probe(std::time::Duration::from_secs(2))
        .await
        .run()
        .await
        .unwrap();
    let functions: std::collections::BTreeSet<String> = stack.iam.calls().into_iter().map(|call| call.0).collect();
    assert_eq!(
        functions,
        ["files-api", "probe", "replicate", "sweep", "upload-api"]
            .map(String::from)
            .into(),
        "each function signs as itself (the operator's calls are not checked, so not recorded)"
    );
    // The browser's PUT and GET of the presigned URLs were held to their signers' policies.
    let presigned: Vec<_> = stack
        .iam
        .calls()
        .into_iter()
        .filter(|(_, action, resource, _)| resource.ends_with(&shared.id) && action.starts_with("s3:"))
        .map(|(function, action, ..)| format!("{function} {action}"))
        .collect();
    assert!(
        presigned.contains(&"upload-api s3:PutObject".to_owned()),
        "{presigned:?}"
    );
    assert!(
        presigned.contains(&"files-api s3:GetObject".to_owned()),
        "{presigned:?}"
    );
}
