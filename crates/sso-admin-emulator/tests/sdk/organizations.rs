//! AWS Organizations through aws-sdk-organizations: a seeded tree read
//! recursively across empty pages, who may read it, the writes a test needs,
//! and the organization's refusals of account instances.

use std::collections::BTreeMap;

use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_sdk_organizations::types::{AccountState, ChildType, CreateAccountState, InvalidInputExceptionReason};
use sso_admin_emulator::config::{AccountDetails, OrganizationSeed, SeedAccount, SeedUnit};

use super::*;

const MANAGEMENT: &str = "999999999999";
const MANAGEMENT_KEY: &str = "AKIA999999999999TEST";
const DELEGATED_KEY: &str = "AKIA222222222222TEST";
const MEMBER_KEY: &str = "AKIA333333333333TEST";
const OUTSIDER_KEY: &str = "AKIA555555555555TEST";
const ROOT: &str = "r-ex01";
const WORKLOADS: &str = "ou-ex01-workload";
const SANDBOX: &str = "ou-ex01-sandbox1";
const SANDBOX_ACCOUNTS: [&str; 3] = ["444400000001", "444400000002", "444400000003"];
const STEP: f64 = 0.3;

fn unit(id: &str, name: &str, accounts: &[&str], children: Vec<SeedUnit>) -> SeedUnit {
    SeedUnit {
        name: name.into(),
        id: Some(id.into()),
        tags: BTreeMap::new(),
        accounts: accounts.iter().map(|a| SeedAccount::Id(a.to_string())).collect(),
        organizational_units: children,
    }
}

/// Root: the management account, a delegated administrator, a member;
/// Workloads: two accounts and Sandbox (three accounts) below it.
fn seeded() -> OrganizationSeed {
    let sandbox = unit(SANDBOX, "Sandbox", &SANDBOX_ACCOUNTS, vec![]);
    OrganizationSeed {
        id: Some("o-exampleorg1".into()),
        root_id: Some(ROOT.into()),
        management_account: MANAGEMENT.into(),
        delegated_administrators: vec![ACCOUNT_DELEGATED.into()],
        account_instances_allowed: true,
        service_control_policy_denies: BTreeMap::new(),
        accounts: vec![
            SeedAccount::Id(ACCOUNT_DELEGATED.into()),
            SeedAccount::Detailed(AccountDetails {
                id: "333333333333".into(),
                name: Some("Member".into()),
                email: Some("member@example.com".into()),
                state: sso_admin_emulator::config::AccountState::Suspended,
                tags: [("team".to_string(), "platform".to_string())].into(),
            }),
        ],
        organizational_units: vec![unit(WORKLOADS, "Workloads", &["444411111111", "444422222222"], vec![sandbox])],
    }
}

const ACCOUNT_DELEGATED: &str = "222222222222";

fn config(seed: OrganizationSeed) -> Config {
    Config { organization: Some(seed), create_account_seconds: STEP, close_account_seconds: STEP, ..fast() }
}

fn organizations(emulator: &Running, key: &str) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::Config::builder()
        .behavior_version(aws_sdk_organizations::config::BehaviorVersion::latest())
        .endpoint_url(emulator.endpoint())
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(credentials(key))
        .retry_config(aws_sdk_organizations::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

fn error_code<T, E: ProvideErrorMetadata, R>(
    result: Result<T, aws_sdk_organizations::error::SdkError<E, R>>,
) -> String {
    let Err(error) = result else { panic!("the call should have failed") };
    error.code().unwrap_or("<none>").to_string()
}

async fn settle() {
    tokio::time::sleep(Duration::from_secs_f64(STEP + 0.2)).await;
}

/// Every account below `parent`, OUs followed recursively, each level read
/// with the SDK's paginators one item a page.
async fn accounts_below(client: &aws_sdk_organizations::Client, parent: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut parents = vec![parent.to_string()];
    // Bounded: the seeded tree has three containers.
    for _ in 0..10 {
        let Some(parent) = parents.pop() else { break };
        let accounts = client.list_accounts_for_parent().parent_id(&parent).max_results(1).into_paginator();
        for page in accounts.send().collect::<Vec<_>>().await {
            found.extend(page.unwrap().accounts().iter().map(|a| a.id().unwrap().to_string()));
        }
        let units = client.list_organizational_units_for_parent().parent_id(&parent).max_results(1).into_paginator();
        for page in units.send().collect::<Vec<_>>().await {
            parents.extend(page.unwrap().organizational_units().iter().map(|u| u.id().unwrap().to_string()));
        }
    }
    assert!(parents.is_empty(), "the walk ended early");
    found.sort();
    found
}

#[tokio::test]
async fn a_seeded_tree_of_nested_ous_reads_recursively_across_empty_pages() {
    let emulator = start(Config { organization_empty_pages: true, ..config(seeded()) }).await;
    let client = organizations(&emulator, MANAGEMENT_KEY);

    let first = client.list_children().parent_id(ROOT).child_type(ChildType::Account).send().await.unwrap();
    assert!(first.children().is_empty() && first.next_token().is_some(), "an empty page that is not the last");

    let pages = client.list_roots().into_paginator().send().collect::<Vec<_>>().await;
    let roots: Vec<_> = pages.into_iter().flat_map(|page| page.unwrap().roots.unwrap_or_default()).collect();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].id(), Some(ROOT));

    let mut every: Vec<String> = vec![MANAGEMENT, ACCOUNT_DELEGATED, "333333333333", "444411111111", "444422222222"]
        .into_iter()
        .chain(SANDBOX_ACCOUNTS)
        .map(String::from)
        .collect();
    every.sort();
    assert_eq!(accounts_below(&client, ROOT).await, every);
    let mut workloads: Vec<String> =
        ["444411111111", "444422222222"].into_iter().chain(SANDBOX_ACCOUNTS).map(String::from).collect();
    workloads.sort();
    assert_eq!(accounts_below(&client, WORKLOADS).await, workloads, "a subtree");

    let pages = client.list_accounts().into_paginator().send().collect::<Vec<_>>().await;
    assert!(
        pages.iter().any(|page| page.as_ref().unwrap().accounts().is_empty()),
        "the paginator went past empty pages"
    );
    let listed: usize = pages.into_iter().map(|page| page.unwrap().accounts().len()).sum();
    assert_eq!(listed, every.len(), "ListAccounts lists the whole organization");

    let sandbox = client.describe_organizational_unit().organizational_unit_id(SANDBOX).send().await.unwrap();
    let sandbox = sandbox.organizational_unit.unwrap();
    assert_eq!(sandbox.name(), Some("Sandbox"));
    assert_eq!(sandbox.arn(), Some("arn:aws:organizations::999999999999:ou/o-exampleorg1/ou-ex01-sandbox1"));
    let pages = client.list_parents().child_id(SANDBOX).into_paginator().send().collect::<Vec<_>>().await;
    let parents: Vec<_> = pages.into_iter().flat_map(|page| page.unwrap().parents.unwrap_or_default()).collect();
    assert_eq!(parents[0].id(), Some(WORKLOADS));

    let member = client.describe_account().account_id("333333333333").send().await.unwrap().account.unwrap();
    assert_eq!((member.name(), member.state()), (Some("Member"), Some(&AccountState::Suspended)));
    assert!(member.status().is_none(), "the retired Status is not sent");
    assert_eq!(member.paths(), ["o-exampleorg1/r-ex01/333333333333/"]);
    let tags = client.list_tags_for_resource().resource_id("333333333333").send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), "team");

    let organization = client.describe_organization().send().await.unwrap().organization.unwrap();
    assert_eq!((organization.id(), organization.master_account_id()), (Some("o-exampleorg1"), Some(MANAGEMENT)));
    assert!(emulator.emulator.calls().iter().all(|call| call.service == "organizations" && call.outcome == "ok"));
}

#[tokio::test]
async fn max_results_is_1_to_20_and_parents_must_exist() {
    let emulator = start(config(seeded())).await;
    let client = organizations(&emulator, MANAGEMENT_KEY);
    for (max, reason) in
        [(0, InvalidInputExceptionReason::MinValueExceeded), (21, InvalidInputExceptionReason::MaxValueExceeded)]
    {
        let error = client.list_accounts().max_results(max).send().await.unwrap_err().into_service_error();
        assert!(error.is_invalid_input_exception(), "{max}: {error:?}");
        let aws_sdk_organizations::operation::list_accounts::ListAccountsError::InvalidInputException(error) = error
        else {
            unreachable!()
        };
        assert_eq!(error.reason(), Some(&reason));
    }
    let page = client.list_accounts().max_results(20).send().await.unwrap();
    assert_eq!((page.accounts().len(), page.next_token()), (8, None));

    let missing = client.list_children().parent_id("ou-ex01-missing1").child_type(ChildType::OrganizationalUnit);
    assert!(missing.send().await.unwrap_err().into_service_error().is_parent_not_found_exception());
    let account = client.describe_account().account_id("123412341234").send().await.unwrap_err();
    assert!(account.into_service_error().is_account_not_found_exception());
    let unit = client.describe_organizational_unit().organizational_unit_id("ou-ex01-missing1").send().await;
    assert!(unit.unwrap_err().into_service_error().is_organizational_unit_not_found_exception());
    let child = client.list_parents().child_id("123412341234").send().await.unwrap_err();
    assert!(child.into_service_error().is_child_not_found_exception());

    let throttled = Faults {
        rate_limit: None,
        rules: vec![FaultRule { operation: Some("ListRoots".into()), throttle: 1.0, ..Default::default() }],
    };
    emulator.emulator.set_faults(throttled);
    let error = client.list_roots().send().await.unwrap_err().into_service_error();
    assert!(error.is_too_many_requests_exception(), "{error:?}");
}

#[tokio::test]
async fn only_the_management_account_and_delegated_administrators_read_the_tree() {
    let emulator = start(config(seeded())).await;
    let outsider = organizations(&emulator, OUTSIDER_KEY);
    let error = outsider.describe_organization().send().await.unwrap_err().into_service_error();
    assert!(error.is_aws_organizations_not_in_use_exception(), "{error:?}");
    assert_eq!(error_code(outsider.list_roots().send().await), "AWSOrganizationsNotInUseException");

    let member = organizations(&emulator, MEMBER_KEY);
    assert!(member.describe_organization().send().await.is_ok(), "any member may describe its organization");
    let denied = member.list_accounts().send().await.unwrap_err().into_service_error();
    assert!(denied.is_access_denied_exception(), "{denied:?}");
    assert_eq!(
        error_code(member.list_children().parent_id(ROOT).child_type(ChildType::Account).send().await),
        "AccessDeniedException"
    );

    let delegated = organizations(&emulator, DELEGATED_KEY);
    assert_eq!(delegated.list_accounts().send().await.unwrap().accounts().len(), 8);
    let write = delegated.create_organizational_unit().parent_id(ROOT).name("Mine").send().await;
    assert_eq!(error_code(write), "AccessDeniedException", "changes are the management account's");

    let management = organizations(&emulator, MANAGEMENT_KEY);
    management
        .register_delegated_administrator()
        .account_id("333333333333")
        .service_principal("sso.amazonaws.com")
        .send()
        .await
        .unwrap();
    assert!(member.list_accounts().send().await.is_ok(), "a newly registered delegated administrator reads");
}

#[tokio::test]
async fn create_account_completes_asynchronously_into_the_root() {
    let emulator = start(config(seeded())).await;
    let client = organizations(&emulator, MANAGEMENT_KEY);
    let created = client.create_account().email("new@example.com").account_name("New").send().await.unwrap();
    let status = created.create_account_status.unwrap();
    assert_eq!(status.state(), Some(&CreateAccountState::InProgress));
    assert!(status.account_id().is_none());
    let request = status.id().unwrap().to_string();
    assert!(request.starts_with("car-"));

    settle().await;
    let done = client.describe_create_account_status().create_account_request_id(&request).send().await.unwrap();
    let done = done.create_account_status.unwrap();
    assert_eq!(done.state(), Some(&CreateAccountState::Succeeded));
    let account = done.account_id().unwrap().to_string();
    let in_root = client.list_accounts_for_parent().parent_id(ROOT).send().await.unwrap();
    assert!(in_root.accounts().iter().any(|a| a.id() == Some(account.as_str())), "the new account lands in the root");
    let described = client.describe_account().account_id(&account).send().await.unwrap().account.unwrap();
    assert_eq!(described.state(), Some(&AccountState::Active));

    let again = client.create_account().email("new@example.com").account_name("Again").send().await.unwrap();
    settle().await;
    let id = again.create_account_status.unwrap().id.unwrap();
    let failed = client.describe_create_account_status().create_account_request_id(id).send().await.unwrap();
    let failed = failed.create_account_status.unwrap();
    assert_eq!(failed.state(), Some(&CreateAccountState::Failed));
    assert_eq!(failed.failure_reason().map(|r| r.as_str()), Some("EMAIL_ALREADY_EXISTS"));
    let unknown = client.describe_create_account_status().create_account_request_id("car-unknown123").send().await;
    assert_eq!(error_code(unknown), "CreateAccountStatusNotFoundException");
}

#[tokio::test]
async fn accounts_move_close_and_leave() {
    let emulator = start(config(seeded())).await;
    let client = organizations(&emulator, MANAGEMENT_KEY);
    let account = SANDBOX_ACCOUNTS[0];
    let wrong_source =
        client.move_account().account_id(account).source_parent_id(ROOT).destination_parent_id(WORKLOADS);
    assert_eq!(error_code(wrong_source.send().await), "SourceParentNotFoundException");
    let same = client.move_account().account_id(account).source_parent_id(SANDBOX).destination_parent_id(SANDBOX);
    assert_eq!(error_code(same.send().await), "DuplicateAccountException");
    let nowhere =
        client.move_account().account_id(account).source_parent_id(SANDBOX).destination_parent_id("ou-ex01-missing1");
    assert_eq!(error_code(nowhere.send().await), "DestinationParentNotFoundException");
    client
        .move_account()
        .account_id(account)
        .source_parent_id(SANDBOX)
        .destination_parent_id(WORKLOADS)
        .send()
        .await
        .unwrap();
    let parents = client.list_parents().child_id(account).send().await.unwrap();
    assert_eq!(parents.parents()[0].id(), Some(WORKLOADS));

    let unit = client.create_organizational_unit().parent_id(SANDBOX).name("Deeper").send().await.unwrap();
    let unit = unit.organizational_unit.unwrap();
    assert!(unit.id().unwrap().starts_with("ou-ex01-"), "{unit:?}");
    let twice = client.create_organizational_unit().parent_id(SANDBOX).name("Deeper").send().await;
    assert_eq!(error_code(twice), "DuplicateOrganizationalUnitException");

    client.close_account().account_id(account).send().await.unwrap();
    let state = || async { client.describe_account().account_id(account).send().await.unwrap().account.unwrap().state };
    assert_eq!(state().await, Some(AccountState::PendingClosure));
    assert_eq!(error_code(client.close_account().account_id(account).send().await), "AccountAlreadyClosedException");
    settle().await;
    assert_eq!(state().await, Some(AccountState::Closed), "closed, and still listed");
    assert_eq!(error_code(client.close_account().account_id(MANAGEMENT).send().await), "ConstraintViolationException");

    let leaving = SANDBOX_ACCOUNTS[1];
    client.remove_account_from_organization().account_id(leaving).send().await.unwrap();
    let gone = organizations(&emulator, &format!("AKIA{leaving}TEST")).describe_organization().send().await;
    assert_eq!(error_code(gone), "AWSOrganizationsNotInUseException", "a removed account is standalone");
    let management = client.remove_account_from_organization().account_id(MANAGEMENT).send().await;
    assert_eq!(error_code(management), "MasterCannotLeaveOrganizationException");
}

#[tokio::test]
async fn a_standalone_account_creates_an_organization_it_manages() {
    let emulator = start(fast()).await;
    let client = organizations(&emulator, OUTSIDER_KEY);
    let created = client.create_organization().send().await.unwrap().organization.unwrap();
    assert_eq!(created.master_account_id(), Some("555555555555"));
    assert!(regex::Regex::new(r"^o-[a-z0-9]{10}$").unwrap().is_match(created.id().unwrap()));
    assert_eq!(error_code(client.create_organization().send().await), "AlreadyInOrganizationException");
    let root = client.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    client.create_organizational_unit().parent_id(&root).name("Teams").send().await.unwrap();
    let refused = sso(&emulator, OUTSIDER_KEY, "eu-west-1").create_instance().send().await;
    assert!(message(refused).contains("management account"), "the new management account has no account instance");
}

#[tokio::test]
async fn create_instance_follows_the_organization() {
    let mut seed = seeded();
    seed.service_control_policy_denies.insert(SANDBOX.into(), vec!["sso:CreateInstance".into()]);
    let emulator = start(config(seed)).await;
    let management = sso(&emulator, MANAGEMENT_KEY, "eu-west-1").create_instance().send().await.unwrap_err();
    let management = management.into_service_error();
    assert!(management.is_conflict_exception());
    assert_eq!(management.message(), Some("Organization management account is not allowed to perform the operation."));

    let sandboxed = sso(&emulator, "AKIA444400000002TEST", "eu-west-1").create_instance().send().await.unwrap_err();
    let sandboxed = sandboxed.into_service_error();
    assert!(sandboxed.is_access_denied_exception(), "{sandboxed:?}");
    assert_eq!(
        sandboxed.message(),
        Some(
            "User: arn:aws:iam::444400000002:user/emulator is not authorized to perform: sso:CreateInstance with an explicit deny in a service control policy"
        )
    );
    assert!(
        sso(&emulator, "AKIA444411111111TEST", "eu-west-1").create_instance().send().await.is_ok(),
        "above the OU the SCP names"
    );

    let mut closed = seeded();
    closed.account_instances_allowed = false;
    let emulator = start(config(closed)).await;
    let refused = sso(&emulator, "AKIA444411111111TEST", "eu-west-1").create_instance().send().await.unwrap_err();
    let refused = refused.into_service_error();
    assert!(refused.is_access_denied_exception(), "{refused:?}");
    assert!(refused.message().unwrap().contains("does not allow account instances"));
    assert!(
        sso(&emulator, OUTSIDER_KEY, "eu-west-1").create_instance().send().await.is_ok(),
        "a standalone account may"
    );
}

#[tokio::test]
async fn identity_policies_need_the_organizations_actions() {
    let policy: sso_admin_emulator::iam::PolicyDocument = serde_json::from_value(serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "organizations:List*", "Resource": "*"}],
    }))
    .unwrap();
    let iam = sso_admin_emulator::iam::IamConfig {
        policies: Some([(MANAGEMENT_KEY.to_string(), policy)].into()),
        ..Default::default()
    };
    let emulator = start(Config { iam: Some(iam), ..config(seeded()) }).await;
    let client = organizations(&emulator, MANAGEMENT_KEY);
    assert!(client.list_roots().send().await.is_ok());
    let denied = client.describe_organization().send().await.unwrap_err().into_service_error();
    assert!(denied.message().unwrap().contains("organizations:DescribeOrganization"), "{denied:?}");
}

#[test]
fn an_organization_that_contradicts_account_organizations_is_refused() {
    let mut config = config(seeded());
    config.account_organizations.insert(ACCOUNT_DELEGATED.into(), "o-otherorg000".into());
    assert!(config.validate().unwrap_err().contains("222222222222"));
    let mut unit_elsewhere = seeded();
    unit_elsewhere.organizational_units[0].id = Some("ou-zz99-workload".into());
    assert!(self::config(unit_elsewhere).validate().unwrap_err().contains("rootId"));
}
