//! The second line of tenant isolation through the real aws-sdk-sts client:
//! the repository's deploy/iam/ policies, loaded as a user deploys them
//! (placeholders filled in), let the operator's role reach a tenant's role
//! only with that tenant's namespace tag and only inside its organization.

use aws_sdk_sts::types::Tag;
use serde_json::{Value, json};

use super::*;

const OPERATOR_ACCOUNT: &str = "111122223333";
const OPERATOR_KEY: &str = "AKIA111122223333OPRB";
const OPERATOR_ROLE: &str = "arn:aws:iam::111122223333:role/identity-center-operator";
/// team-a's account, in the operator's organization.
const TEAM_A_ROLE: &str = "arn:aws:iam::444455556666:role/identity-center-admin";
/// An account of another organization, whose role trusts the operator all the same.
const FOREIGN_ROLE: &str = "arn:aws:iam::777788889999:role/identity-center-admin";
const EXTERNAL_ID: &str = "ext-team-a";

/// A deploy/iam/ file with its placeholders replaced.
fn deployed(file: &str, replacements: &[(&str, &str)]) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/iam/");
    let mut text = std::fs::read_to_string(format!("{path}{file}")).unwrap();
    for (placeholder, value) in replacements {
        text = text.replace(placeholder, value);
    }
    serde_json::from_str(&text).unwrap()
}

fn isolated() -> Config {
    let trust = deployed(
        "account-role-trust-policy.json",
        &[("OPERATOR_ACCOUNT_ID", OPERATOR_ACCOUNT), ("EXTERNAL_ID", EXTERNAL_ID), ("TEAM_NAMESPACE", "team-a")],
    );
    let settings = json!({
        "accountOrganizations": {"111122223333": "o-exampleorgid", "444455556666": "o-exampleorgid", "777788889999": "o-otherorgid00"},
        "iam": {
            "principals": {OPERATOR_KEY: OPERATOR_ROLE},
            "policies": {
                OPERATOR_ROLE: deployed("operator-policy.json", &[]),
                TEAM_A_ROLE: deployed("account-role-policy.json", &[]),
                FOREIGN_ROLE: deployed("account-role-policy.json", &[]),
            },
            "trustPolicies": {TEAM_A_ROLE: trust, FOREIGN_ROLE: trust},
        },
    });
    serde_json::from_value(settings).unwrap()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

/// AssumeRole as the operator sends it for `<namespace>/platform`.
async fn assume(
    client: &aws_sdk_sts::Client,
    role: &str,
    namespace: Option<&str>,
) -> Result<aws_sdk_sts::operation::assume_role::AssumeRoleOutput, (String, String)> {
    let mut request = client
        .assume_role()
        .role_arn(role)
        .role_session_name(format!("ico-{}-platform", namespace.unwrap_or("none")))
        .external_id(EXTERNAL_ID);
    if let Some(namespace) = namespace {
        request = request.tags(tag("kubernetes-namespace", namespace)).tags(tag("kubernetes-name", "platform"));
    }
    request.send().await.map_err(|error| {
        let error = error.into_service_error();
        (code(&error), error.message().unwrap_or_default().to_string())
    })
}

#[tokio::test]
async fn a_tenant_role_is_assumed_only_for_its_namespace_and_inside_the_organization() {
    let emulator = start(isolated()).await;
    let operator = sts(&emulator, credentials(OPERATOR_KEY));
    let me = operator.get_caller_identity().send().await.unwrap();
    let operator_arn = "arn:aws:sts::111122223333:assumed-role/identity-center-operator/AKIA111122223333OPRB";
    assert_eq!(me.arn.as_deref(), Some(operator_arn), "the key stands for the operator's role session");

    let granted = assume(&operator, TEAM_A_ROLE, Some("team-a")).await.unwrap();
    assert_eq!(
        granted.assumed_role_user.unwrap().arn,
        "arn:aws:sts::444455556666:assumed-role/identity-center-admin/ico-team-a-platform"
    );
    let creds = granted.credentials.unwrap();
    let as_tenant =
        Credentials::new(creds.access_key_id, creds.secret_access_key, Some(creds.session_token), None, "assumed");
    let stranger = sso(&emulator, "AKIA444455556666NONE", "eu-west-1");
    assert!(stranger.list_instances().send().await.is_err(), "a key without a policy may do nothing");
    let tenant = aws_sdk_ssoadmin::Client::from_conf(
        aws_sdk_ssoadmin::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(emulator.endpoint())
            .region(Region::new("eu-west-1"))
            .credentials_provider(as_tenant)
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    tenant.list_instances().send().await.expect("the tenant role's policy applies to its session");

    let refused_for_team_a_role =
        format!("User: {operator_arn} is not authorized to perform: sts:AssumeRole on resource: {TEAM_A_ROLE}");
    let other_namespace = assume(&operator, TEAM_A_ROLE, Some("team-b")).await.unwrap_err();
    assert_eq!(other_namespace, ("AccessDenied".into(), refused_for_team_a_role.clone()), "team-b's object");
    let untagged = assume(&operator, TEAM_A_ROLE, None).await.unwrap_err();
    assert_eq!(untagged, ("AccessDenied".into(), refused_for_team_a_role), "an untagged request");
    let foreign = assume(&operator, FOREIGN_ROLE, Some("team-a")).await.unwrap_err();
    assert_eq!(foreign.0, "AccessDenied", "another organization's role");
    assert!(
        foreign.1.ends_with("because no identity-based policy allows the sts:AssumeRole action"),
        "the operator's own policy refuses it: {}",
        foreign.1
    );

    let duplicate = operator
        .assume_role()
        .role_arn(TEAM_A_ROLE)
        .role_session_name("ico-team-a-platform")
        .tags(tag("kubernetes-namespace", "team-a"))
        .tags(tag("Kubernetes-Namespace", "team-b"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&duplicate.into_service_error()), "InvalidParameterValue", "tag keys ignore case");

    let logged: Vec<_> = emulator.emulator.calls().into_iter().filter_map(|call| call.assume_role).collect();
    assert_eq!(logged.len(), 5);
    assert_eq!(logged[0].role_session_name.as_deref(), Some("ico-team-a-platform"));
    assert_eq!(logged[0].role_arn.as_deref(), Some(TEAM_A_ROLE));
    let tags: Vec<(&str, &str)> = logged[0].tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(tags, [("kubernetes-name", "platform"), ("kubernetes-namespace", "team-a")]);
    assert_eq!(logged[1].tags["kubernetes-namespace"], "team-b", "refused calls are logged with their tags");
    assert!(logged[2].tags.is_empty());
}
