//! UpdateInstance's NetworkConfiguration and DescribeInstance's
//! NetworkConfigurationDetails, which aws-sdk-ssoadmin 1.125 does not model
//! yet: raw awsJson1_1 requests, as a newer SDK sends them.

use serde_json::{Value, json};
use sso_admin_emulator::{Config, Emulator, Running};
use test_support::http::request;

const OWNER: &str = "AKIA111122223333TEST";
const STRANGER: &str = "AKIA444455556666TEST";
const VPC: &str = "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0";
const APPLICATION: &str = "arn:aws:sso::111122223333:application/ssoins-0123456789abcdef/apl-0123456789abcdef";

/// One SSO Admin call signed by `key` in eu-west-1: its status and its JSON body.
async fn call(running: &Running, key: &str, operation: &str, body: Value) -> (u16, Value) {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={key}/20261128/eu-west-1/sso/aws4_request, SignedHeaders=host, Signature=0"
    );
    let target = format!("SWBExternalService.{operation}");
    let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", &target), ("authorization", &auth)];
    let response = request("POST", &running.addr.to_string(), "/", &headers, body.to_string().as_bytes()).await;
    let parsed = serde_json::from_str(&response.body).unwrap_or_else(|e| panic!("{operation}: {e}: {}", response.body));
    (response.status, parsed)
}

/// An emulator in which the owner's instance is ACTIVE (or still CREATE_IN_PROGRESS, given a create time).
async fn instance(create_seconds: f64) -> (Running, String) {
    let running = Emulator::start(Config { create_seconds, ..Config::default() }).await.unwrap();
    let (status, created) = call(&running, OWNER, "CreateInstance", json!({"ClientToken": "t"})).await;
    assert_eq!(status, 200, "{created}");
    (running, created["InstanceArn"].as_str().unwrap().to_string())
}

async fn update(running: &Running, arn: &str, members: Value) -> (u16, Value) {
    let mut body = json!({"InstanceArn": arn});
    body.as_object_mut().unwrap().extend(members.as_object().unwrap().clone());
    call(running, OWNER, "UpdateInstance", body).await
}

async fn network_details(running: &Running, arn: &str) -> Value {
    let (status, described) = call(running, OWNER, "DescribeInstance", json!({"InstanceArn": arn})).await;
    assert_eq!(status, 200, "{described}");
    described["NetworkConfigurationDetails"].clone()
}

/// The `__type` and message of a refusal.
fn refusal((status, body): (u16, Value)) -> (String, String) {
    assert_eq!(status, 400, "{body}");
    (body["__type"].as_str().unwrap().to_string(), body["message"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_network_configuration_is_set_then_replaced_whole() {
    let (running, arn) = instance(0.0).await;
    assert_eq!(network_details(&running, &arn).await, Value::Null, "absent until first set");

    let full = json!({
        "VpceAccessRequired": true,
        "RestrictSourceVpcs": [VPC],
        "AllowSourceIps": ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"],
        "ExcludeApplicationArns": [APPLICATION],
    });
    let (status, body) = update(&running, &arn, json!({"NetworkConfiguration": full, "Name": "with-network"})).await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(network_details(&running, &arn).await, full);

    let narrower = json!({"VpceAccessRequired": true, "AllowSourceIps": ["203.0.113.0/24"], "RestrictSourceVpcs": []});
    assert_eq!(update(&running, &arn, json!({"NetworkConfiguration": narrower})).await.0, 200);
    assert_eq!(
        network_details(&running, &arn).await,
        json!({"VpceAccessRequired": true, "AllowSourceIps": ["203.0.113.0/24"]}),
        "the lists the request omits or leaves empty are cleared"
    );
    let off = json!({"VpceAccessRequired": false, "AllowSourceIps": ["203.0.113.0/24"]});
    assert_eq!(update(&running, &arn, json!({"NetworkConfiguration": off})).await.0, 200);
    assert_eq!(
        network_details(&running, &arn).await,
        json!({"VpceAccessRequired": false}),
        "no VPC endpoint required: no lists either"
    );

    let (_, described) = call(&running, OWNER, "DescribeInstance", json!({"InstanceArn": arn})).await;
    assert_eq!(described["Name"], "with-network", "a name may come along");
    let logged = running.emulator.calls().into_iter().rfind(|c| c.operation == "UpdateInstance").unwrap();
    assert_eq!(logged.request["NetworkConfiguration"], off, "the call log keeps the request as sent");
}

#[tokio::test]
async fn one_kind_of_change_per_update() {
    let (running, arn) = instance(0.0).await;
    let network = json!({"VpceAccessRequired": true});
    let key = json!({"KeyType": "AWS_OWNED_KMS_KEY"});
    let cases = [
        (
            json!({"NetworkConfiguration": network, "PermissionSetsEnabled": true}),
            "PermissionSetsEnabled and NetworkConfiguration cannot be updated in the same request",
        ),
        (
            json!({"NetworkConfiguration": network, "EncryptionConfiguration": key}),
            "EncryptionConfiguration and NetworkConfiguration cannot be updated in the same request",
        ),
        (
            json!({"NetworkConfiguration": network, "EncryptionConfiguration": key, "PermissionSetsEnabled": true}),
            "EncryptionConfiguration, PermissionSetsEnabled and NetworkConfiguration cannot be updated in the same \
             request",
        ),
    ];
    for (members, want) in cases {
        assert_eq!(refusal(update(&running, &arn, members).await), ("ValidationException".into(), want.into()));
    }
    assert_eq!(network_details(&running, &arn).await, Value::Null, "nothing changed");
}

#[tokio::test]
async fn the_model_constraints_are_enforced_member_by_member() {
    let (running, arn) = instance(0.0).await;
    let vpcs: Vec<String> = (0..51).map(|i| format!("arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-{i:08x}")).collect();
    let cases = [
        (json!({}), "Value null at 'networkConfiguration.vpceAccessRequired' failed to satisfy constraint"),
        (
            json!({"VpceAccessRequired": true, "AllowSourceIps": ["10.0.0.0/8", "10.0.0.0/33"]}),
            "Value '10.0.0.0/33' at 'networkConfiguration.allowSourceIps.2' failed to satisfy constraint: Member must \
             satisfy regular expression pattern",
        ),
        (
            json!({"VpceAccessRequired": true, "RestrictSourceVpcs": ["arn:aws:ec2:eu-west-1:1:vpc/vpc-1"]}),
            "at 'networkConfiguration.restrictSourceVpcs.1' failed to satisfy constraint: Member must have length \
             greater than or equal to 43",
        ),
        (
            json!({"VpceAccessRequired": true, "RestrictSourceVpcs": vpcs}),
            "Value '51 items' at 'networkConfiguration.restrictSourceVpcs' failed to satisfy constraint: Member must \
             have length less than or equal to 50",
        ),
        (
            json!({"VpceAccessRequired": true, "ExcludeApplicationArns": ["arn:aws:sso::not-an-account:application"]}),
            "at 'networkConfiguration.excludeApplicationArns.1' failed to satisfy constraint: Member must satisfy \
             regular expression pattern",
        ),
    ];
    for (network, want) in cases {
        let (code, message) = refusal(update(&running, &arn, json!({"NetworkConfiguration": network})).await);
        assert_eq!(code, "ValidationException", "{message}");
        assert!(message.contains(want), "{message} should contain {want}");
    }
    let wrong_type = update(&running, &arn, json!({"NetworkConfiguration": {"VpceAccessRequired": "yes"}})).await;
    assert_eq!(refusal(wrong_type).0, "SerializationException");
}

#[tokio::test]
async fn refused_while_creating_and_for_another_accounts_instance() {
    let (running, arn) = instance(5.0).await;
    let network = json!({"NetworkConfiguration": {"VpceAccessRequired": true}});
    let (code, message) = refusal(update(&running, &arn, network.clone()).await);
    assert_eq!(code, "ConflictException");
    assert!(message.contains("CREATE_IN_PROGRESS"), "{message}");

    let mut body = network;
    body["InstanceArn"] = json!(arn);
    assert_eq!(refusal(call(&running, STRANGER, "UpdateInstance", body).await).0, "AccessDeniedException");
}
