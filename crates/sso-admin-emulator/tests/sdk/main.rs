//! Emulator conformance: the real aws-sdk-ssoadmin and aws-sdk-sts clients,
//! through the endpoint override, against an in-process emulator.
//! (UpdateInstance's NetworkConfiguration is newer than this SDK: see
//! tests/network_configuration.rs.)

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_ssoadmin::config::retry::RetryConfig;
use aws_sdk_ssoadmin::config::{BehaviorVersion, Region};
use aws_sdk_ssoadmin::error::ProvideErrorMetadata;
use aws_sdk_ssoadmin::types::{InstanceStatus, Tag};
use sso_admin_emulator::config::{FailCreation, SeedInstance};
use sso_admin_emulator::{Config, Emulator, FaultRule, Faults, RateLimit, Running};

mod access_control;
mod instance_scope;
mod organization;
mod organizations;
mod trust;

const ACCOUNT_A: &str = "111122223333";
const KEY_A: &str = "AKIA111122223333TEST";
const KEY_B: &str = "AKIA444455556666TEST";

fn credentials(key: &str) -> Credentials {
    Credentials::new(key, "secret", None, None, "conformance")
}

fn sso(emulator: &Running, key: &str, region: &str) -> aws_sdk_ssoadmin::Client {
    let config = aws_sdk_ssoadmin::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(emulator.endpoint())
        .region(Region::new(region.to_string()))
        .credentials_provider(credentials(key))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_ssoadmin::Client::from_conf(config)
}

fn sts(emulator: &Running, creds: Credentials) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(emulator.endpoint())
        .region(aws_sdk_sts::config::Region::new("eu-west-1"))
        .credentials_provider(creds)
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

async fn start(config: Config) -> Running {
    Emulator::start(Config { seed: Some(7), ..config }).await.expect("emulator starts")
}

fn fast() -> Config {
    Config { create_seconds: 0.3, delete_seconds: 0.3, ..Config::default() }
}

/// The message of the service error a call failed with.
fn message<T, E: ProvideErrorMetadata, R>(result: Result<T, aws_sdk_ssoadmin::error::SdkError<E, R>>) -> String {
    let Err(error) = result else { panic!("the call should have failed") };
    error.message().unwrap_or_default().to_string()
}

fn code<E: ProvideErrorMetadata>(error: &E) -> String {
    error.code().unwrap_or("<none>").to_string()
}

async fn describe_status(client: &aws_sdk_ssoadmin::Client, arn: &str) -> InstanceStatus {
    client.describe_instance().instance_arn(arn).send().await.unwrap().status.unwrap()
}

#[tokio::test]
async fn an_instance_goes_from_create_in_progress_to_active_with_model_shaped_ids() {
    let emulator = start(fast()).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let created = client.create_instance().name("platform").client_token("tok-1").send().await.unwrap();
    let arn = created.instance_arn.unwrap();
    assert!(regex::Regex::new(r"^arn:aws:sso:::instance/ssoins-[a-z0-9]{16}$").unwrap().is_match(&arn), "{arn}");

    let first = client.describe_instance().instance_arn(&arn).send().await.unwrap();
    assert_eq!(first.status, Some(InstanceStatus::CreateInProgress));
    assert_eq!(first.owner_account_id.as_deref(), Some(ACCOUNT_A));
    assert_eq!(first.name.as_deref(), Some("platform"));
    assert!(first.identity_store_id.as_deref().is_some_and(|id| id.len() == 12 && id.starts_with("d-")));
    let created_date = first.created_date.unwrap();
    let age = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
        - created_date.secs();
    assert!((0..5).contains(&age), "CreatedDate parses as a recent timestamp: {created_date:?}");

    let update = client.update_instance().instance_arn(&arn).name("renamed").send().await.unwrap_err();
    assert_eq!(code(&update.into_service_error()), "ConflictException", "only Describe and Delete while creating");

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(describe_status(&client, &arn).await, InstanceStatus::Active);
    client.update_instance().instance_arn(&arn).name("renamed").send().await.unwrap();
    let listed = client.list_instances().send().await.unwrap().instances.unwrap();
    assert_eq!((listed.len(), listed[0].name.as_deref()), (1, Some("renamed")));
}

#[tokio::test]
async fn a_client_token_makes_create_idempotent_and_refuses_other_parameters() {
    let emulator = start(fast()).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let first = client.create_instance().name("a").client_token("same").send().await.unwrap().instance_arn;
    let again = client.create_instance().name("a").client_token("same").send().await.unwrap().instance_arn;
    assert_eq!(first, again, "same token, same parameters: same ARN");
    assert_eq!(client.list_instances().send().await.unwrap().instances.unwrap().len(), 1, "nothing created twice");

    let other = client.create_instance().name("b").client_token("same").send().await.unwrap_err();
    let error = other.into_service_error();
    assert_eq!(code(&error), "ValidationException");
    assert!(error.message().unwrap().contains("IdempotentParameterMismatch"));

    let second = client.create_instance().client_token("other").send().await.unwrap_err().into_service_error();
    assert!(second.is_conflict_exception(), "one instance per account");
    let elsewhere = sso(&emulator, KEY_A, "us-east-1").create_instance().client_token("x").send().await.unwrap_err();
    assert!(elsewhere.into_service_error().is_conflict_exception(), "one instance per account across regions");
    assert!(sso(&emulator, KEY_A, "us-east-1").list_instances().send().await.unwrap().instances.unwrap().is_empty());
}

#[tokio::test]
async fn the_management_account_and_failing_creations_behave_as_configured() {
    let config = Config {
        management_accounts: vec!["444455556666".into()],
        fail_creation: vec![FailCreation {
            account: None,
            name: Some("doomed".into()),
            reason: "Quota reached".into(),
        }],
        ..fast()
    };
    let emulator = start(config).await;
    let refused = sso(&emulator, KEY_B, "eu-west-1").create_instance().client_token("t").send().await.unwrap_err();
    let error = refused.into_service_error();
    assert!(error.is_conflict_exception());
    assert_eq!(error.message(), Some("Organization management account is not allowed to perform the operation."));

    let client = sso(&emulator, KEY_A, "eu-west-1");
    let arn = client.create_instance().name("doomed").client_token("t").send().await.unwrap().instance_arn.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let described = client.describe_instance().instance_arn(&arn).send().await.unwrap();
    assert_eq!(described.status, Some(InstanceStatus::CreateFailed));
    assert_eq!(described.status_reason.as_deref(), Some("Quota reached"));
}

#[tokio::test]
async fn deletion_passes_through_delete_in_progress_then_describe_is_denied() {
    let emulator = start(Config { create_seconds: 0.0, ..fast() }).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let arn = client.create_instance().client_token("t").send().await.unwrap().instance_arn.unwrap();
    client.delete_instance().instance_arn(&arn).send().await.unwrap();
    assert_eq!(describe_status(&client, &arn).await, InstanceStatus::DeleteInProgress);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let gone = client.describe_instance().instance_arn(&arn).send().await.unwrap_err().into_service_error();
    assert!(gone.is_access_denied_exception(), "{gone:?}");
    assert!(client.list_instances().send().await.unwrap().instances.unwrap().is_empty());
    client.create_instance().client_token("new").send().await.expect("the account is free again");
}

#[tokio::test]
async fn tags_are_set_listed_across_pages_and_removed() {
    let emulator = start(Config { create_seconds: 0.0, ..fast() }).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let arn = client.create_instance().client_token("t").send().await.unwrap().instance_arn.unwrap();
    let tags: Vec<Tag> =
        (0..60).map(|i| Tag::builder().key(format!("k{i:02}")).value(format!("v{i}")).build().unwrap()).collect();
    client.tag_resource().instance_arn(&arn).resource_arn(&arn).set_tags(Some(tags)).send().await.unwrap();
    let listed: Vec<Tag> = client
        .list_tags_for_resource()
        .instance_arn(&arn)
        .resource_arn(&arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(listed.len(), 60, "two pages of 50 and 10");
    let first_page = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert!(first_page.next_token.is_some());

    let too_many: Vec<Tag> = (0..16).map(|i| Tag::builder().key(format!("x{i}")).value("").build().unwrap()).collect();
    let quota = client.tag_resource().resource_arn(&arn).set_tags(Some(too_many)).send().await.unwrap_err();
    assert!(quota.into_service_error().is_service_quota_exceeded_exception(), "75 tags at most");

    client.untag_resource().resource_arn(&arn).tag_keys("k00").tag_keys("k01").send().await.unwrap();
    let left = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(left.tags.unwrap()[0].key, "k02");
    let empty = client.untag_resource().resource_arn(&arn).set_tag_keys(Some(vec![])).send().await.unwrap_err();
    assert_eq!(code(&empty.into_service_error()), "ValidationException", "TagKeys needs at least one key");
}

#[tokio::test]
async fn validation_errors_name_the_member() {
    let emulator = start(fast()).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let bad_key = Tag::builder().key("bad*key").value("v").build().unwrap();
    let cases = [
        (message(client.create_instance().name("has space").client_token("t").send().await), "'name'"),
        (message(client.describe_instance().instance_arn("arn:aws:sso:::instance/bad").send().await), "'instanceArn'"),
        (message(client.list_instances().max_results(0).send().await), "'maxResults'"),
        (message(client.create_instance().client_token("t").tags(bad_key).send().await), "'tags.1.key'"),
    ];
    for (message, member) in cases {
        assert!(message.contains(member), "{message} should name {member}");
    }
}

#[tokio::test]
async fn list_instances_pages_through_every_visible_instance() {
    let seeds = (0..23)
        .map(|i| SeedInstance {
            visible_to: vec![ACCOUNT_A.into()],
            ..SeedInstance::new(format!("9999999999{i:02}"), "eu-west-1")
        })
        .collect();
    let emulator = start(Config { instances: seeds, ..fast() }).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let all: Vec<_> =
        client.list_instances().into_paginator().items().send().collect::<Result<Vec<_>, _>>().await.unwrap();
    assert_eq!(all.len(), 23);
    let page = client.list_instances().max_results(5).send().await.unwrap();
    assert_eq!(page.instances.unwrap().len(), 5);
    assert_eq!(page.next_token.as_deref(), Some("5"));
}

#[tokio::test]
async fn assumed_role_keys_act_in_the_roles_account_until_they_expire() {
    let role = "arn:aws:iam::555566667777:role/identity-center-admin";
    let config = Config {
        deny_assume_role: vec!["arn:aws:iam::888888888888:role/denied".into()],
        external_ids: [(role.to_string(), "ext-123".to_string())].into(),
        max_session_seconds: Some(1),
        create_seconds: 0.0,
        ..fast()
    };
    let emulator = start(config).await;
    let client = sts(&emulator, credentials(KEY_A));
    let me = client.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account.as_deref(), Some(ACCOUNT_A));

    let assumed =
        client.assume_role().role_arn(role).role_session_name("ico").external_id("ext-123").send().await.unwrap();
    let creds = assumed.credentials.unwrap();
    assert_eq!(
        assumed.assumed_role_user.unwrap().arn,
        "arn:aws:sts::555566667777:assumed-role/identity-center-admin/ico"
    );
    let role_creds =
        Credentials::new(creds.access_key_id, creds.secret_access_key, Some(creds.session_token), None, "assumed");
    let as_role = sts(&emulator, role_creds.clone()).get_caller_identity().send().await.unwrap();
    assert_eq!(as_role.account.as_deref(), Some("555566667777"));

    let denied = client
        .assume_role()
        .role_arn("arn:aws:iam::888888888888:role/denied")
        .role_session_name("ico")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&denied.into_service_error()), "AccessDenied");
    let wrong_id = client.assume_role().role_arn(role).role_session_name("ico").send().await.unwrap_err();
    assert_eq!(code(&wrong_id.into_service_error()), "AccessDenied", "the ExternalId is required");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let config = aws_sdk_ssoadmin::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(emulator.endpoint())
        .region(Region::new("eu-west-1"))
        .credentials_provider(role_creds)
        .retry_config(RetryConfig::disabled())
        .build();
    let expired = aws_sdk_ssoadmin::Client::from_conf(config).list_instances().send().await.unwrap_err();
    assert_eq!(code(&expired.into_service_error()), "ExpiredTokenException");
}

#[tokio::test]
async fn faults_are_injected_per_operation_and_changeable_at_run_time() {
    let emulator = start(fast()).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    let rule = |operation: &str| FaultRule { operation: Some(operation.into()), ..Default::default() };
    emulator.emulator.set_faults(Faults {
        rate_limit: None,
        rules: vec![
            FaultRule { throttle: 1.0, ..rule("ListInstances") },
            FaultRule { server_error: 1.0, ..rule("CreateInstance") },
            FaultRule { drop: 1.0, ..rule("DescribeInstance") },
        ],
    });
    let throttled = client.list_instances().send().await.unwrap_err().into_service_error();
    assert!(throttled.is_throttling_exception());
    let internal = client.create_instance().client_token("t").send().await.unwrap_err();
    let internal = internal.into_service_error();
    assert!(internal.is_internal_server_exception(), "{internal:?}");
    let dropped =
        client.describe_instance().instance_arn("arn:aws:sso:::instance/ssoins-0123456789abcdef").send().await;
    assert!(
        matches!(
            dropped,
            Err(aws_sdk_ssoadmin::error::SdkError::ResponseError(_)
                | aws_sdk_ssoadmin::error::SdkError::DispatchFailure(_))
        ),
        "{dropped:?}"
    );

    emulator
        .emulator
        .set_faults(Faults { rate_limit: Some(RateLimit { per_second: 0.01, burst: 2.0 }), rules: vec![] });
    let outcomes: Vec<bool> = futures::future::join_all((0..4).map(|_| client.list_instances().send()))
        .await
        .iter()
        .map(Result::is_ok)
        .collect();
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 2, "the bucket lets its burst through: {outcomes:?}");

    emulator.emulator.set_faults(Faults::default());
    client.list_instances().send().await.expect("faults cleared");
    let calls = emulator.emulator.calls();
    let outcomes: Vec<&str> = calls.iter().map(|c| c.outcome.as_str()).collect();
    assert_eq!(outcomes[..3], ["ThrottlingException", "InternalServerException", "dropped"]);
}

#[tokio::test]
async fn the_call_log_records_each_call_with_account_region_and_parameters() {
    let emulator = start(fast()).await;
    let client = sso(&emulator, KEY_A, "eu-west-1");
    client.create_instance().name("logged").client_token("tok").send().await.unwrap();
    let _ = sso(&emulator, KEY_B, "us-east-1")
        .describe_instance()
        .instance_arn("arn:aws:sso:::instance/ssoins-0000000000000000")
        .send()
        .await;
    let calls = emulator.emulator.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].operation.as_str(), calls[0].outcome.as_str()), ("CreateInstance", "ok"));
    assert_eq!(calls[0].account.as_deref(), Some(ACCOUNT_A));
    assert_eq!(calls[0].region.as_deref(), Some("eu-west-1"));
    assert_eq!(calls[0].request["ClientToken"], "tok");
    assert_eq!(
        (calls[1].account.as_deref(), calls[1].outcome.as_str()),
        (Some("444455556666"), "AccessDeniedException")
    );
    emulator.emulator.clear_calls();
    assert!(emulator.emulator.calls().is_empty());
}
