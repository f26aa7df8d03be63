//! Invalid specs are refused by the API server at admission, with a message
//! that names the field, and never reach AWS.

use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use crate::stack::Stack;

const ARN: &str = "arn:aws:sso:::instance/ssoins-abcdefghijklmnop";

fn corpus() -> Vec<(&'static str, Value, &'static str)> {
    let many_tags: serde_json::Map<String, Value> = (0..72).map(|i| (format!("k{i}"), json!("v"))).collect();
    vec![
        ("empty name", json!({"name": ""}), "spec.name"),
        ("name too long", json!({"name": "a".repeat(33)}), "spec.name"),
        ("name with a space", json!({"name": "my instance"}), "spec.name"),
        ("name with a slash", json!({"name": "a/b"}), "spec.name"),
        ("name with a colon", json!({"name": "a:b"}), "spec.name"),
        ("name not a string", json!({"name": 5}), "spec.name"),
        ("72 tags: 71 leave room for the 4 ownership tags", json!({"tags": many_tags}), "spec.tags"),
        ("tag key too long", json!({"tags": {"k".repeat(129): "v"}}), "spec.tags"),
        ("empty tag key", json!({"tags": {"": "v"}}), "spec.tags"),
        ("tag key with *", json!({"tags": {"a*b": "v"}}), "spec.tags"),
        ("tag key with #", json!({"tags": {"a#b": "v"}}), "spec.tags"),
        ("tag key aws: prefix", json!({"tags": {"aws:owner": "v"}}), "spec.tags"),
        ("an ownership tag key", json!({"tags": {"identitycenter.dev/namespace": "team-a"}}), "spec.tags"),
        ("tag value too long", json!({"tags": {"k": "v".repeat(257)}}), "spec.tags.k"),
        ("tag value with *", json!({"tags": {"k": "a*b"}}), "spec.tags.k"),
        ("tag value with ;", json!({"tags": {"k": "a;b"}}), "spec.tags.k"),
        ("tag value not a string", json!({"tags": {"k": 1}}), "spec.tags.k"),
        ("region upper case", json!({"region": "EU-WEST-1"}), "spec.region"),
        ("region made up", json!({"region": "mars"}), "spec.region"),
        ("region with a space", json!({"region": "eu west 1"}), "spec.region"),
        ("region empty", json!({"region": ""}), "spec.region"),
        (
            "arn of another service",
            json!({"instanceArn": "arn:aws:iam:::instance/ssoins-abcdefghijklmnop"}),
            "spec.instanceArn",
        ),
        ("arn with short id", json!({"instanceArn": "arn:aws:sso:::instance/ssoins-abc"}), "spec.instanceArn"),
        ("arn not an arn", json!({"instanceArn": "ssoins-abcdefghijklmnop"}), "spec.instanceArn"),
        (
            "arn with a region",
            json!({"instanceArn": "arn:aws:sso:eu-west-1::instance/ssoins-abcdefghijklmnop"}),
            "spec.instanceArn",
        ),
        ("unknown deletion policy", json!({"deletionPolicy": "Orphan"}), "spec.deletionPolicy"),
        ("lower-case deletion policy", json!({"deletionPolicy": "delete"}), "spec.deletionPolicy"),
        ("unknown management policy", json!({"managementPolicy": "ReadOnly"}), "spec.managementPolicy"),
        (
            "role arn of a user",
            json!({"credentials": {"roleArn": "arn:aws:iam::111122223333:user/bob"}}),
            "spec.credentials.roleArn",
        ),
        (
            "role arn with short account",
            json!({"credentials": {"roleArn": "arn:aws:iam::1111:role/admin"}}),
            "spec.credentials.roleArn",
        ),
        ("credentials without role", json!({"credentials": {"externalId": "abc"}}), "spec.credentials.roleArn"),
        (
            "external id too short",
            json!({"credentials": {"roleArn": "arn:aws:iam::111122223333:role/a", "externalId": "x"}}),
            "spec.credentials.externalId",
        ),
        ("config map name upper case", json!({"exportTo": {"configMapName": "SSO"}}), "spec.exportTo.configMapName"),
        ("export without a name", json!({"exportTo": {}}), "spec.exportTo.configMapName"),
        (
            "network without vpceAccessRequired",
            json!({"network": {"allowSourceIps": ["10.0.0.0/8"]}}),
            "spec.network.vpceAccessRequired",
        ),
        (
            "source ip out of range",
            json!({"network": {"vpceAccessRequired": true, "allowSourceIps": ["10.0.0.256"]}}),
            "spec.network.allowSourceIps[0]",
        ),
        (
            "ipv4 prefix over 32",
            json!({"network": {"vpceAccessRequired": true, "allowSourceIps": ["10.0.0.0/33"]}}),
            "spec.network.allowSourceIps[0]",
        ),
        (
            "51 source ips",
            json!({"network": {"vpceAccessRequired": true, "allowSourceIps": (0..51).map(|i| format!("10.0.0.{i}")).collect::<Vec<_>>()}}),
            "spec.network.allowSourceIps",
        ),
        (
            "a subnet arn for a vpc",
            json!({"network": {"vpceAccessRequired": true, "restrictSourceVpcs": ["arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-0123456789abcdef0"]}}),
            "spec.network.restrictSourceVpcs[0]",
        ),
        (
            "lists that vpceAccessRequired false clears",
            json!({"network": {"vpceAccessRequired": false, "allowSourceIps": ["10.0.0.0/8"]}}),
            "spec.network",
        ),
        (
            "attribute key with *",
            json!({"accessControlAttributes": [{"key": "a*b", "source": "${path:title}"}]}),
            "spec.accessControlAttributes[0].key",
        ),
        (
            "attribute source too long",
            json!({"accessControlAttributes": [{"key": "a", "source": "x".repeat(257)}]}),
            "spec.accessControlAttributes[0].source",
        ),
        (
            "an attribute key twice",
            json!({"accessControlAttributes": [{"key": "a", "source": "x"}, {"key": "a", "source": "y"}]}),
            "spec.accessControlAttributes",
        ),
    ]
}

pub async fn invalid_specs_are_refused_at_admission(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "admission", "createSeconds: 1\n").await;
    let cases = corpus();
    assert!(cases.len() >= 30);
    let mut wrong = Vec::new();
    for (i, (what, spec, field)) in cases.iter().enumerate() {
        match stack.create(&format!("bad-{i}"), spec.clone()).await {
            Err(kube::Error::Api(status)) if status.code == 422 && status.message.contains(field) => {}
            other => wrong.push(format!("{what}: {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "not refused with the field named:\n{}", wrong.join("\n"));

    // Immutable once set: region and instanceArn.
    stack.apply("settled", json!({"region": "eu-west-1"})).await.unwrap();
    stack.wait_for("settled", "Ready", "True").await;
    for (what, spec, field) in [
        ("region changed", json!({"region": "us-east-1"}), "spec.region"),
        ("region removed", json!({}), "spec.region"),
    ] {
        let refused = stack.apply("settled", spec).await.unwrap_err();
        assert!(
            matches!(&refused, kube::Error::Api(s) if s.code == 422 && s.message.contains(field) && s.message.contains("immutable")),
            "{what}: {refused:?}"
        );
    }
    // A region may be set later only to the one the instance lives in.
    let role = json!({"roleArn": "arn:aws:iam::800000000001:role/admin"});
    stack.apply("defaulted", json!({"credentials": role})).await.unwrap();
    stack.wait_for("defaulted", "Ready", "True").await;
    let elsewhere = stack.apply("defaulted", json!({"credentials": role, "region": "us-east-1"})).await;
    assert!(matches!(&elsewhere, Err(kube::Error::Api(s)) if s.message.contains("status.region")), "{elsewhere:?}");
    let same = stack.apply("defaulted", json!({"credentials": role, "region": "eu-west-1"})).await;
    assert!(same.is_ok(), "the recorded region may be written down: {same:?}");

    let ok = stack.apply("adopter", json!({"instanceArn": ARN, "managementPolicy": "ObserveOnly"})).await;
    assert!(ok.is_ok(), "a valid instanceArn is accepted: {ok:?}");
    let changed = stack
        .apply(
            "adopter",
            json!({"instanceArn": "arn:aws:sso:::instance/ssoins-zzzzzzzzzzzzzzzz", "managementPolicy": "ObserveOnly"}),
        )
        .await;
    assert!(
        matches!(&changed, Err(kube::Error::Api(s)) if s.message.contains("spec.instanceArn") && s.message.contains("immutable")),
        "{changed:?}"
    );

    // A refused object was never stored, so nothing could reconcile it.
    for i in 0..cases.len() {
        let stored = stack.api().get_opt(&format!("bad-{i}")).await.unwrap();
        assert!(stored.is_none(), "bad-{i} was refused, yet stored");
    }
    // CreateInstance reached AWS only for the two valid objects that manage an
    // instance: its ClientToken is the object's UID.
    let mut valid_uids = Vec::new();
    for name in ["settled", "defaulted"] {
        valid_uids.push(stack.get(name).await.metadata.uid.unwrap());
    }
    let mut tokens: Vec<String> = (stack.calls().await.into_iter())
        .filter(|c| c.operation == "CreateInstance")
        .map(|c| c.request["ClientToken"].as_str().unwrap_or_default().to_string())
        .collect();
    tokens.sort();
    tokens.dedup();
    valid_uids.sort();
    assert_eq!(tokens, valid_uids, "CreateInstance was sent for the valid objects only");
    assert_eq!(stack.count("CreateInstance").await, 2, "only the two valid objects called CreateInstance");
    stack.shutdown().await;
}
