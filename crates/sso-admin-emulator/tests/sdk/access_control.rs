//! Instance attribute-based access control through aws-sdk-ssoadmin: the
//! configuration's lifecycle, its refusals, its IAM actions and fault rules.

use aws_sdk_ssoadmin::types::{
    AccessControlAttribute, AccessControlAttributeValue, InstanceAccessControlAttributeConfiguration,
    InstanceAccessControlAttributeConfigurationStatus as Status,
};
use serde_json::json;

use super::*;

const STEP: f64 = 0.3;

fn attribute(key: &str, source: &str) -> AccessControlAttribute {
    let value = AccessControlAttributeValue::builder().source(source).build().unwrap();
    AccessControlAttribute::builder().key(key).value(value).build().unwrap()
}

fn attributes(pairs: &[(&str, &str)]) -> InstanceAccessControlAttributeConfiguration {
    let list = pairs.iter().map(|(key, source)| attribute(key, source)).collect();
    InstanceAccessControlAttributeConfiguration::builder().set_access_control_attributes(Some(list)).build().unwrap()
}

/// An emulator where account A has an ACTIVE instance; returns it and the instance's ARN.
async fn with_instance(config: Config) -> (Running, String) {
    let emulator = start(Config { create_seconds: 0.0, access_control_attribute_seconds: STEP, ..config }).await;
    let arn = sso(&emulator, KEY_A, "eu-west-1").create_instance().client_token("t").send().await.unwrap();
    (emulator, arn.instance_arn.unwrap())
}

async fn settle() {
    tokio::time::sleep(Duration::from_secs_f64(STEP + 0.2)).await;
}

#[tokio::test]
async fn a_configuration_is_created_in_progress_then_enabled_updated_and_deleted() {
    let (emulator, arn) = with_instance(fast()).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let describe = || client.describe_instance_access_control_attribute_configuration().instance_arn(&arn).send();

    let none = describe().await.unwrap_err().into_service_error();
    assert!(none.is_resource_not_found_exception(), "{none:?}");
    assert_eq!(
        none.message(),
        Some(format!("No access control attribute configuration exists for instance {arn}").as_str())
    );
    let update = |pairs: &[(&str, &str)]| {
        client
            .update_instance_access_control_attribute_configuration()
            .instance_arn(&arn)
            .instance_access_control_attribute_configuration(attributes(pairs))
            .send()
    };
    assert_eq!(
        code(&update(&[("team", "${path:enterprise.department}")]).await.unwrap_err()),
        "ResourceNotFoundException"
    );
    let delete = || client.delete_instance_access_control_attribute_configuration().instance_arn(&arn).send();
    assert_eq!(code(&delete().await.unwrap_err()), "ResourceNotFoundException");

    let create = |pairs: &[(&str, &str)]| {
        client
            .create_instance_access_control_attribute_configuration()
            .instance_arn(&arn)
            .instance_access_control_attribute_configuration(attributes(pairs))
            .send()
    };
    create(&[("team", "${path:enterprise.department}"), ("cost-center", "${path:enterprise.costCenter}")])
        .await
        .unwrap();
    let creating = describe().await.unwrap();
    assert_eq!(creating.status(), Some(&Status::CreationInProgress));
    let keys: Vec<_> = creating
        .instance_access_control_attribute_configuration()
        .unwrap()
        .access_control_attributes()
        .iter()
        .map(|a| a.key())
        .collect();
    assert_eq!(keys, ["team", "cost-center"]);
    assert_eq!(code(&create(&[("a", "b")]).await.unwrap_err()), "ConflictException", "one configuration");
    assert_eq!(code(&update(&[("a", "b")]).await.unwrap_err()), "ConflictException", "not while in progress");

    settle().await;
    let enabled = describe().await.unwrap();
    assert_eq!((enabled.status(), enabled.status_reason()), (Some(&Status::Enabled), None));
    update(&[("project", "${path:enterprise.division}")]).await.unwrap();
    let updated = describe().await.unwrap();
    let attributes = updated.instance_access_control_attribute_configuration().unwrap().access_control_attributes();
    assert_eq!((attributes.len(), attributes[0].key()), (1, "project"), "Update replaces the attributes");
    assert_eq!(attributes[0].value().unwrap().source(), ["${path:enterprise.division}"]);

    delete().await.unwrap();
    assert_eq!(code(&describe().await.unwrap_err()), "ResourceNotFoundException");
    create(&[]).await.expect("an empty list is a configuration too");

    let logged = emulator.emulator.calls();
    let created = logged.iter().find(|c| c.operation == "CreateInstanceAccessControlAttributeConfiguration").unwrap();
    assert_eq!(
        created.request["InstanceAccessControlAttributeConfiguration"]["AccessControlAttributes"][0],
        json!({"Key": "team", "Value": {"Source": ["${path:enterprise.department}"]}}),
        "the call log keeps the request"
    );
}

#[tokio::test]
async fn refusals_follow_the_model_and_the_instance() {
    let (emulator, arn) = with_instance(fast()).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let create = |configuration: InstanceAccessControlAttributeConfiguration| {
        client
            .create_instance_access_control_attribute_configuration()
            .instance_arn(&arn)
            .instance_access_control_attribute_configuration(configuration)
            .send()
    };
    let duplicate = message(create(attributes(&[("team", "a"), ("team", "b")])).await);
    assert!(duplicate.contains("Duplicate access control attribute key team"), "{duplicate}");
    let bad_key = message(create(attributes(&[("no*stars", "a")])).await);
    assert!(
        bad_key.contains("at 'instanceAccessControlAttributeConfiguration.accessControlAttributes.1.key'"),
        "{bad_key}"
    );
    let two_sources = AccessControlAttribute::builder()
        .key("k")
        .value(AccessControlAttributeValue::builder().source("a").source("b").build().unwrap())
        .build()
        .unwrap();
    let configuration =
        InstanceAccessControlAttributeConfiguration::builder().access_control_attributes(two_sources).build().unwrap();
    let sources = message(create(configuration).await);
    assert!(
        sources.contains("value.source' failed to satisfy constraint: Member must have length less than or equal to 1"),
        "{sources}"
    );
    let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert!(message(create(attributes(&many)).await).contains("less than or equal to 50"));

    let other = sso(&emulator, KEY_B, "eu-west-1");
    let foreign = other.describe_instance_access_control_attribute_configuration().instance_arn(&arn).send().await;
    assert_eq!(code(&foreign.unwrap_err()), "AccessDeniedException", "another account's instance");

    let slow = start(Config { create_seconds: 5.0, ..fast() }).await;
    let slow_client = sso(&slow, KEY_A, "eu-west-1");
    let creating = slow_client.create_instance().client_token("t").send().await.unwrap().instance_arn.unwrap();
    let early = slow_client
        .create_instance_access_control_attribute_configuration()
        .instance_arn(&creating)
        .instance_access_control_attribute_configuration(attributes(&[("a", "b")]))
        .send()
        .await;
    assert_eq!(code(&early.unwrap_err()), "ConflictException", "not while the instance is CREATE_IN_PROGRESS");
}

#[tokio::test]
async fn a_failing_rule_ends_creation_failed_with_its_reason() {
    let rule =
        FailCreation { account: Some(ACCOUNT_A.into()), name: None, reason: "Attribute mapping rejected".into() };
    let (emulator, arn) = with_instance(Config { fail_access_control_attributes: vec![rule], ..fast() }).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    client
        .create_instance_access_control_attribute_configuration()
        .instance_arn(&arn)
        .instance_access_control_attribute_configuration(attributes(&[("team", "x")]))
        .send()
        .await
        .unwrap();
    let describe = || client.describe_instance_access_control_attribute_configuration().instance_arn(&arn).send();
    assert_eq!(describe().await.unwrap().status_reason(), None, "no reason while in progress");
    settle().await;
    let failed = describe().await.unwrap();
    assert_eq!(failed.status(), Some(&Status::CreationFailed));
    assert_eq!(failed.status_reason(), Some("Attribute mapping rejected"));
}

#[tokio::test]
async fn iam_policies_and_fault_rules_apply_to_the_new_actions() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sso:CreateInstance", "sso:*AccessControlAttributeConfiguration",
            "iam:CreateServiceLinkedRole", "identitystore:CreateIdentityStore"], "Resource": "*"},
        {"Effect": "Deny", "Action": "sso:DeleteInstanceAccessControlAttributeConfiguration", "Resource": "*"},
    ]});
    let config: Config = serde_json::from_value(json!({"iam": {"policies": {KEY_A: policy}}})).unwrap();
    let (emulator, arn) = with_instance(config).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    client
        .create_instance_access_control_attribute_configuration()
        .instance_arn(&arn)
        .instance_access_control_attribute_configuration(attributes(&[("team", "x")]))
        .send()
        .await
        .unwrap();
    let denied = client.delete_instance_access_control_attribute_configuration().instance_arn(&arn).send().await;
    let denied = message(denied);
    assert!(
        denied.contains("sso:DeleteInstanceAccessControlAttributeConfiguration") && denied.contains("explicit deny"),
        "{denied}"
    );

    emulator.emulator.set_faults(Faults {
        rate_limit: None,
        rules: vec![FaultRule {
            operation: Some("DescribeInstanceAccessControlAttributeConfiguration".into()),
            throttle: 1.0,
            ..Default::default()
        }],
    });
    let throttled = client.describe_instance_access_control_attribute_configuration().instance_arn(&arn).send().await;
    assert_eq!(code(&throttled.unwrap_err()), "ThrottlingException");
}
