//! The operator's SSO Admin port (aws-sdk-ssoadmin + STS AssumeRole) against
//! the emulator: every outcome arrives as the ErrorKind the controller classifies.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use identity_center_operator::api::{AccessControlAttribute, NetworkConfiguration};
use identity_center_operator::sso::RegionScope::{AllRegions, CurrentRegion};
use identity_center_operator::sso::aws::AwsSsoAdmin;
use identity_center_operator::sso::{
    AttributeChange, AttributesStatus, CreateInstance, ErrorKind, InstanceState, Principal, RoleRef, SsoAdmin, Target,
    Workflow, WriteGuard,
};
use sso_admin_emulator::{Config, Emulator, FaultRule, Faults};

/// The port as the operator builds it, with the emulator as its endpoint.
async fn port(endpoint: &str) -> AwsSsoAdmin {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIA111122223333TEST", "s", None, None, "t"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    AwsSsoAdmin::new(config)
}

fn target(role: Option<&str>) -> Target {
    Target::new("eu-west-1", role.map_or(Principal::Operator, |r| Principal::Role(RoleRef::new(r, None))))
}

fn create(token: &str) -> CreateInstance {
    CreateInstance {
        client_token: token.into(),
        name: Some("platform".into()),
        tags: [("team".into(), "id".into())].into(),
    }
}

#[tokio::test]
async fn the_port_creates_describes_tags_and_deletes() {
    let running =
        Emulator::start(Config { create_seconds: 0.0, delete_seconds: 0.2, ..Config::default() }).await.unwrap();
    let sso = port(&running.endpoint()).await;
    let me = target(None);
    assert_eq!(sso.caller_account(&me).await.unwrap(), "111122223333");
    let arn = sso.create_instance(&me, &create("uid-1")).await.unwrap();
    let request = &running.emulator.calls()[1].request;
    assert_eq!(request["ClientToken"], "uid-1", "the token is always ours, never the SDK's");
    assert_eq!(request["Tags"], serde_json::json!([{"Key": "team", "Value": "id"}]));

    let described = sso.describe_instance(&me, &arn).await.unwrap();
    assert_eq!((described.state, described.name.as_deref()), (InstanceState::Active, Some("platform")));
    assert!(described.created_date.is_some());
    sso.update_instance_name(&me, &arn, "renamed").await.unwrap();
    sso.tag_instance(&me, &arn, &[("b".into(), "2".into())].into()).await.unwrap();
    sso.untag_instance(&me, &arn, &["team".into()]).await.unwrap();
    assert_eq!(sso.list_tags(&me, &arn).await.unwrap(), [("b".into(), "2".into())].into());
    assert_eq!(sso.list_instances(&me, CurrentRegion).await.unwrap()[0].name.as_deref(), Some("renamed"));

    let conflict = sso.create_instance(&me, &create("uid-2")).await.unwrap_err();
    assert_eq!(conflict.kind, ErrorKind::Conflict);
    sso.delete_instance(&me, &arn).await.unwrap();
    // The emulator takes deleteSeconds to finish; AWS answers AccessDenied for an instance that is gone.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match sso.describe_instance(&me, &arn).await {
            Err(error) if error.kind == ErrorKind::AccessDenied => break,
            other => assert!(std::time::Instant::now() < deadline, "still there after 10 s: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_write_its_guard_refuses_never_reaches_aws_and_reads_are_not_guarded() {
    let running = Emulator::start(Config { create_seconds: 0.0, ..Config::default() }).await.unwrap();
    let sso = port(&running.endpoint()).await;
    let arn = sso.create_instance(&target(None), &create("uid-1")).await.unwrap();
    running.emulator.clear_calls();
    let refusing = Target { guard: WriteGuard::new(|| Err("grant team-a was narrowed".into())), ..target(None) };

    let refused = sso.delete_instance(&refusing, &arn).await.unwrap_err();
    assert_eq!((refused.kind, refused.message.as_str()), (ErrorKind::NotPermitted, "grant team-a was narrowed"));
    let tagged = sso.tag_instance(&refusing, &arn, &[("a".into(), "1".into())].into()).await.unwrap_err();
    assert_eq!(tagged.kind, ErrorKind::NotPermitted);
    assert_eq!(sso.describe_instance(&refusing, &arn).await.unwrap().arn, arn, "reads are not guarded");
    let operations: Vec<String> = running.emulator.calls().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(operations, ["DescribeInstance"], "no refused write reached the emulator");
}

#[tokio::test]
async fn a_role_target_acts_in_the_roles_account_and_a_refused_role_is_a_credentials_error() {
    let config = Config { create_seconds: 0.0, deny_assume_role: vec!["999999999999".into()], ..Config::default() };
    let running = Emulator::start(config).await.unwrap();
    let sso = port(&running.endpoint()).await;
    let role = target(Some("arn:aws:iam::555566667777:role/admin"));
    assert_eq!(sso.caller_account(&role).await.unwrap(), "555566667777");
    let arn = sso.create_instance(&role, &create("uid")).await.unwrap();
    assert_eq!(sso.describe_instance(&role, &arn).await.unwrap().owner_account_id.as_deref(), Some("555566667777"));
    let operations: Vec<String> = running.emulator.calls().iter().map(|c| c.operation.clone()).collect();
    assert_eq!(operations.iter().filter(|o| *o == "AssumeRole").count(), 1, "credentials are cached: {operations:?}");

    let denied =
        sso.list_instances(&target(Some("arn:aws:iam::999999999999:role/admin")), CurrentRegion).await.unwrap_err();
    assert_eq!(denied.kind, ErrorKind::Credentials, "{denied}");

    let throttled_sts = FaultRule { operation: Some("AssumeRole".into()), throttle: 1.0, ..Default::default() };
    running.emulator.set_faults(Faults { rate_limit: None, rules: vec![throttled_sts] });
    let throttled =
        sso.list_instances(&target(Some("arn:aws:iam::777777777777:role/admin")), CurrentRegion).await.unwrap_err();
    assert_eq!(throttled.kind, ErrorKind::Throttling, "a throttled AssumeRole is retried as throttling: {throttled}");
}

#[tokio::test]
async fn service_faults_and_unreachable_endpoints_have_their_kinds() {
    let running = Emulator::start(Config::default()).await.unwrap();
    let sso = port(&running.endpoint()).await;
    let me = target(None);
    let fault = |rule: FaultRule| Faults {
        rate_limit: None,
        rules: vec![FaultRule { operation: Some("ListInstances".into()), ..rule }],
    };
    for (rule, kind) in [
        (FaultRule { throttle: 1.0, ..Default::default() }, ErrorKind::Throttling),
        (FaultRule { server_error: 1.0, ..Default::default() }, ErrorKind::InternalServer),
        (FaultRule { drop: 1.0, ..Default::default() }, ErrorKind::Transport),
    ] {
        running.emulator.set_faults(fault(rule));
        assert_eq!(sso.list_instances(&me, CurrentRegion).await.unwrap_err().kind, kind);
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let unreachable = port(&format!("http://{closed}")).await;
    assert_eq!(unreachable.list_instances(&me, CurrentRegion).await.unwrap_err().kind, ErrorKind::Transport);
}

#[tokio::test]
async fn network_controls_reach_aws_through_the_sdk_pipeline_and_come_back_in_describe() {
    let running = Emulator::start(Config { create_seconds: 0.0, ..Config::default() }).await.unwrap();
    let sso = port(&running.endpoint()).await;
    let me = target(None);
    let arn = sso.create_instance(&me, &create("uid-network")).await.unwrap();
    let described = sso.describe_instance(&me, &arn).await.unwrap();
    assert_eq!(described.network, None, "none reported before one is set");
    let identity_store = described.identity_store_id.clone().unwrap();
    assert_eq!(
        described.identity_store_arn.as_deref(),
        Some(format!("arn:aws:identitystore::111122223333:identitystore/{identity_store}").as_str())
    );

    let network = NetworkConfiguration {
        vpce_access_required: true,
        restrict_source_vpcs: vec!["arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0".into()],
        allow_source_ips: vec!["203.0.113.0/24".into(), "2001:db8::/32".into()],
        exclude_application_arns: Vec::new(),
    };
    sso.start_workflow(&me, &arn, &Workflow::SetNetwork(network.clone())).await.unwrap();
    let sent = running.emulator.calls().into_iter().rfind(|c| c.operation == "UpdateInstance").unwrap();
    assert_eq!(sent.outcome, "ok", "{sent:?}");
    assert_eq!(
        sent.request["NetworkConfiguration"],
        serde_json::json!({
            "VpceAccessRequired": true,
            "RestrictSourceVpcs": ["arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0"],
            "AllowSourceIps": ["203.0.113.0/24", "2001:db8::/32"],
            "ExcludeApplicationArns": [],
        })
    );
    assert_eq!(sso.describe_instance(&me, &arn).await.unwrap().network, Some(network.normalized()));

    // Replace-whole: a configuration without lists empties them.
    let only_vpce = NetworkConfiguration { vpce_access_required: true, ..Default::default() };
    sso.start_workflow(&me, &arn, &Workflow::SetNetwork(only_vpce.clone())).await.unwrap();
    assert_eq!(sso.describe_instance(&me, &arn).await.unwrap().network, Some(only_vpce));

    // AWS's refusal of a value comes back with its message.
    let refused = NetworkConfiguration {
        vpce_access_required: true,
        allow_source_ips: vec!["300.0.0.1/8".into()],
        ..Default::default()
    };
    let error = sso.start_workflow(&me, &arn, &Workflow::SetNetwork(refused)).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::Validation, "{error:?}");
}

#[tokio::test]
async fn all_regions_shows_an_instance_that_the_current_region_does_not() {
    let running = Emulator::start(Config { create_seconds: 0.0, ..Config::default() }).await.unwrap();
    let sso = port(&running.endpoint()).await;
    let elsewhere = Target::new("us-east-1", Principal::Operator);
    let arn = sso.create_instance(&elsewhere, &create("uid-elsewhere")).await.unwrap();
    let me = target(None);
    assert!(sso.list_instances(&me, CurrentRegion).await.unwrap().is_empty());
    let everywhere = sso.list_instances(&me, AllRegions).await.unwrap();
    assert_eq!(everywhere.len(), 1);
    assert_eq!(
        (everywhere[0].arn.as_str(), everywhere[0].primary_region.as_deref()),
        (arn.as_str(), Some("us-east-1"))
    );
    let calls = running.emulator.calls();
    let listings: Vec<_> =
        calls.iter().filter(|c| c.operation == "ListInstances").map(|c| &c.request["RegionScope"]).collect();
    assert_eq!(listings, [&serde_json::json!("CURRENT_REGION"), &serde_json::json!("ALL_REGIONS")]);
    let conflict = sso.create_instance(&me, &create("uid-here")).await.unwrap_err();
    assert_eq!(conflict.kind, ErrorKind::Conflict, "one instance per account across all Regions");
}

#[tokio::test]
async fn attribute_based_access_control_is_created_updated_and_deleted() {
    let running = Emulator::start(Config { create_seconds: 0.0, ..Config::default() }).await.unwrap();
    let sso = port(&running.endpoint()).await;
    let me = target(None);
    let arn = sso.create_instance(&me, &create("uid-abac")).await.unwrap();
    assert_eq!(sso.describe_access_control_attributes(&me, &arn).await.unwrap(), None);
    let cost = AccessControlAttribute { key: "CostCenter".into(), source: "${path:enterprise.costCenter}".into() };
    let team = AccessControlAttribute { key: "Team".into(), source: "${path:enterprise.department}".into() };
    sso.change_access_control_attributes(&me, &arn, &AttributeChange::Create(vec![cost.clone()])).await.unwrap();
    let held = sso.describe_access_control_attributes(&me, &arn).await.unwrap().unwrap();
    assert_eq!((held.status, held.attributes), (AttributesStatus::Enabled, vec![cost.clone()]));
    let both = vec![cost, team];
    sso.change_access_control_attributes(&me, &arn, &AttributeChange::Update(both.clone())).await.unwrap();
    assert_eq!(sso.describe_access_control_attributes(&me, &arn).await.unwrap().unwrap().attributes, both);
    let again = sso.change_access_control_attributes(&me, &arn, &AttributeChange::Create(both)).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::Conflict, "one configuration per instance");
    sso.change_access_control_attributes(&me, &arn, &AttributeChange::Delete).await.unwrap();
    assert_eq!(sso.describe_access_control_attributes(&me, &arn).await.unwrap(), None);
}
