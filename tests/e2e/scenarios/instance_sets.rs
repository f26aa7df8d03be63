//! Instance sets over an organization that the emulator seeds and the test
//! changes through the real Organizations API: a set over two nested OUs
//! goes Ready, puts a child edited by hand back, follows accounts that
//! join, leave and close, stops at its
//! failure tolerance, rolls a template change out at its pace, survives a
//! SIGKILL mid-rollout with one CreateInstance per account, and is deleted
//! with its children by the garbage collector.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use identity_center_operator::api::{
    ACCOUNT_LABEL, IdentityCenterInstance, IdentityCenterInstanceSet, SET_LABEL, TEMPLATE_HASH,
};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

pub const MANAGEMENT: &str = "999999999999";
pub const READER: &str = "arn:aws:iam::999999999999:role/identity-center-organizations-reader";
pub const ROLE_TEMPLATE: &str = "arn:aws:iam::{accountId}:role/identity-center-admin";
pub const SANDBOXES: &str = "ou-e2e0-sandbox1";
pub const TEAMS: &str = "ou-e2e0-teams001";
pub const ELSEWHERE: &str = "ou-e2e0-elsewhr1";

/// Member account number `n` (1-based).
pub fn member(n: u32) -> String {
    format!("2000000000{n:02}")
}

/// An organization with `members` accounts in OU sandboxes (the first
/// half) and its nested OU teams (the second half), and an empty OU elsewhere.
pub fn organization(members: u32, extra: Value) -> String {
    let half = members / 2;
    let mut config = json!({
        "createSeconds": 0.5,
        "deleteSeconds": 0.5,
        "createAccountSeconds": 0.5,
        "closeAccountSeconds": 0.5,
        "organization": {
            "managementAccount": MANAGEMENT,
            "rootId": "r-e2e0",
            "organizationalUnits": [
                {
                    "name": "sandboxes", "id": SANDBOXES,
                    "accounts": (1..=half).map(member).collect::<Vec<_>>(),
                    "organizationalUnits": [{
                        "name": "teams", "id": TEAMS,
                        "accounts": (half + 1..=members).map(member).collect::<Vec<_>>(),
                    }],
                },
                {"name": "elsewhere", "id": ELSEWHERE},
            ],
        },
    });
    for (key, value) in extra.as_object().unwrap() {
        config[key] = value.clone();
    }
    config.to_string()
}

/// A set over the sandboxes OU (nested OUs included), read every `interval`.
pub fn set_spec(interval: &str, rollout: Value) -> Value {
    json!({
        "organization": {"credentials": {"roleArn": READER}, "organizationalUnits": [SANDBOXES]},
        "accountCredentials": {"roleArnTemplate": ROLE_TEMPLATE},
        "template": {"name": "sandbox-{accountId}", "tags": {"account": "{accountName}", "team": "platform"}},
        "rollout": rollout,
        "readInterval": interval,
    })
}

pub fn sets(stack: &Stack, namespace: &str) -> Api<IdentityCenterInstanceSet> {
    Api::namespaced(stack.client.clone(), namespace)
}

/// Creates or updates a set by server-side apply, as `kubectl apply --server-side` would.
pub async fn apply_set(stack: &Stack, namespace: &str, name: &str, spec: Value) -> IdentityCenterInstanceSet {
    let object = json!({
        "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstanceSet",
        "metadata": {"name": name}, "spec": spec,
    });
    let params = PatchParams::apply("e2e-user").force();
    sets(stack, namespace).patch(name, &params, &Patch::Apply(object)).await.unwrap()
}

/// Waits until the set's condition `type_` is `status` for its current generation, with `reason` if given.
pub async fn wait_for_set(
    stack: &Stack,
    namespace: &str,
    name: &str,
    type_: &str,
    status: &str,
    reason: Option<&str>,
) -> IdentityCenterInstanceSet {
    let api = sets(stack, namespace);
    eventually(&format!("set {namespace}/{name} {type_}={status} {reason:?}"), CONVERGE * 2, || async {
        let set = api.get(name).await.ok()?;
        let condition = set.condition(type_)?;
        let current = condition.observed_generation == set.metadata.generation;
        let reason_matches = reason.is_none_or(|r| condition.reason == r);
        (condition.status == status && current && reason_matches).then_some(set)
    })
    .await
}

/// The set's children, by account.
pub async fn children(stack: &Stack, namespace: &str, set: &str) -> BTreeMap<String, IdentityCenterInstance> {
    let listed =
        stack.api_in(namespace).list(&ListParams::default().labels(&format!("{SET_LABEL}={set}"))).await.unwrap();
    listed.items.into_iter().map(|child| (child.labels()[ACCOUNT_LABEL].clone(), child)).collect()
}

/// CreateInstance calls that reached AWS, by account.
pub async fn creates_by_account(stack: &Stack) -> BTreeMap<String, usize> {
    let mut creates = BTreeMap::new();
    for call in stack.calls().await.into_iter().filter(|c| c.service == "sso" && c.operation == "CreateInstance") {
        *creates.entry(call.account.unwrap_or_default()).or_default() += 1;
    }
    creates
}

/// Organizations calls that reached AWS, by operation.
async fn organizations_calls(stack: &Stack) -> BTreeMap<String, usize> {
    let mut calls = BTreeMap::new();
    for call in stack.calls().await.into_iter().filter(|c| c.service == "organizations") {
        *calls.entry(call.operation).or_default() += 1;
    }
    calls
}

async fn move_account(stack: &Stack, account: &str, from: &str, to: &str) {
    let body = json!({"AccountId": account, "SourceParentId": from, "DestinationParentId": to});
    let (status, answer) = stack.organizations(MANAGEMENT, "MoveAccount", body).await;
    assert_eq!(status, 200, "{answer}");
}

/// Creates an account through CreateAccount and returns its ID once it exists (in the root).
async fn create_account(stack: &Stack, name: &str) -> String {
    let body = json!({"AccountName": name, "Email": format!("{name}@example.com")});
    let (status, answer) = stack.organizations(MANAGEMENT, "CreateAccount", body).await;
    assert_eq!(status, 200, "{answer}");
    let request = answer["CreateAccountStatus"]["Id"].as_str().unwrap().to_string();
    eventually("CreateAccount to succeed", CONVERGE, || async {
        let (_, answer) = stack
            .organizations(MANAGEMENT, "DescribeCreateAccountStatus", json!({"CreateAccountRequestId": request}))
            .await;
        let status = &answer["CreateAccountStatus"];
        (status["State"] == "SUCCEEDED").then(|| status["AccountId"].as_str().unwrap().to_string())
    })
    .await
}

/// 20 accounts in two nested OUs: the set goes Ready with one instance per
/// account, named and tagged from the template; an account created into the
/// OU gets its instance within a read interval; accounts moved out are
/// retained, or deleted once the spec says so; a closed account is let go;
/// deleting the set deletes its children through the garbage collector.
pub async fn a_set_follows_its_ous_as_accounts_join_leave_and_close(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "sets", &organization(20, json!({}))).await;
    let ns = stack.namespace.clone();
    apply_set(&stack, &ns, "sandboxes", set_spec("3s", json!({"maxConcurrent": 20}))).await;
    let set = wait_for_set(&stack, &ns, "sandboxes", "Ready", "True", Some("AllInstancesReady")).await;
    let status = set.status.clone().unwrap();
    assert_eq!((status.accounts, status.ready_instances, status.failed_instances), (Some(20), 20, 0));
    let kids = children(&stack, &ns, "sandboxes").await;
    assert_eq!(kids.keys().cloned().collect::<Vec<_>>(), (1..=20).map(member).collect::<Vec<_>>());
    for (account, child) in &kids {
        assert_eq!(child.name_any(), format!("sandboxes-{account}"));
        assert_eq!(child.spec.name.as_deref(), Some(format!("sandbox-{account}").as_str()));
        assert_eq!(child.spec.tags["account"], format!("Account {account}"));
        assert_eq!(child.owner_references()[0].uid, set.uid().unwrap(), "owned by the set");
        assert_eq!(child.condition("Ready").unwrap().status, "True", "{account}");
        let instances = stack.instances_of(account).await;
        assert_eq!(instances.len(), 1, "{account}: {instances:?}");
    }
    let creates = creates_by_account(&stack).await;
    assert!(creates.values().all(|n| *n == 1) && creates.len() == 20, "one CreateInstance per account: {creates:?}");
    // A read of two OUs: accounts and child OUs of each, one page each (10 accounts a page fits 20).
    let reads = organizations_calls(&stack).await;
    assert!(reads["ListAccountsForParent"] >= 2 && reads["ListOrganizationalUnitsForParent"] >= 2, "{reads:?}");

    // A child edited by hand is put back to the template, and AWS with it.
    let edited = format!("sandboxes-{}", member(5));
    let by_hand = json!({"spec": {"name": "renamed-by-hand", "tags": {"added": "by-hand"}}});
    stack.api_in(&ns).patch(&edited, &PatchParams::default(), &Patch::Merge(by_hand)).await.unwrap();
    eventually("the edited child to be put back", CONVERGE, || async {
        let child = stack.api_in(&ns).get(&edited).await.ok()?;
        let back = child.spec.name.as_deref() == Some(&format!("sandbox-{}", member(5)))
            && !child.spec.tags.contains_key("added");
        back.then_some(())
    })
    .await;

    // A new account, moved into the nested OU, gets its instance within a read interval.
    let joined = create_account(&stack, "newcomer").await;
    move_account(&stack, &joined, "r-e2e0", TEAMS).await;
    let moved = tokio::time::Instant::now();
    eventually("the new account's instance", CONVERGE, || async {
        (stack.instances_of(&joined).await.len() == 1).then_some(())
    })
    .await;
    // The read interval (3 s), the emulator's creation (0.5 s), and slack for a busy machine.
    let waited = moved.elapsed();
    assert!(waited < Duration::from_secs(10), "the new account waited {waited:?} for its instance");
    eventually("the set to count it Ready", CONVERGE, || async {
        let set = sets(&stack, &ns).get("sandboxes").await.ok()?;
        (set.status.as_ref()?.ready_instances == 21).then_some(())
    })
    .await;

    // Moved out, under accountRemovalPolicy Retain (the default): the child goes, the instance stays.
    stack.clear_calls().await;
    move_account(&stack, &member(1), SANDBOXES, ELSEWHERE).await;
    stack.wait_gone_in(&ns, &format!("sandboxes-{}", member(1))).await;
    assert_eq!(stack.instances_of(&member(1)).await.len(), 1, "retained in AWS");
    assert_eq!(stack.count("DeleteInstance").await, 0);

    // Delete: the next account moved out loses its instance (the template says Delete).
    let mut delete = set_spec("3s", json!({"maxConcurrent": 20}));
    delete["accountRemovalPolicy"] = json!("Delete");
    delete["template"]["deletionPolicy"] = json!("Delete");
    apply_set(&stack, &ns, "sandboxes", delete).await;
    wait_for_set(&stack, &ns, "sandboxes", "Ready", "True", Some("AllInstancesReady")).await;
    move_account(&stack, &member(2), SANDBOXES, ELSEWHERE).await;
    stack.wait_gone_in(&ns, &format!("sandboxes-{}", member(2))).await;
    eventually("the moved account's instance to be deleted", CONVERGE, || async {
        stack.instances_of(&member(2)).await.is_empty().then_some(())
    })
    .await;

    // A closed account is let go: its child goes, nothing is written to AWS in it.
    stack.clear_calls().await;
    let (status, answer) = stack.organizations(MANAGEMENT, "CloseAccount", json!({"AccountId": member(3)})).await;
    assert_eq!(status, 200, "{answer}");
    stack.wait_gone_in(&ns, &format!("sandboxes-{}", member(3))).await;
    let calls = stack.calls().await;
    let writes = ["CreateInstance", "UpdateInstance", "DeleteInstance", "TagResource", "UntagResource"];
    let in_closed = calls.iter().filter(|c| c.service == "sso" && c.account.as_deref() == Some(&member(3)));
    let written: Vec<&str> = in_closed.map(|c| c.operation.as_str()).filter(|o| writes.contains(o)).collect();
    assert_eq!(written, Vec::<&str>::new());
    assert_eq!(stack.instances_of(&member(3)).await.len(), 1, "retained, whatever the removal policy");

    // Deleting the set: the garbage collector deletes the children, each under its deletionPolicy (Delete).
    sets(&stack, &ns).delete("sandboxes", &DeleteParams::foreground()).await.unwrap();
    eventually("the children to be deleted by the garbage collector", CONVERGE, || async {
        children(&stack, &ns, "sandboxes").await.is_empty().then_some(())
    })
    .await;
    eventually("their instances to be deleted", CONVERGE, || async {
        stack.instances_of(&member(20)).await.is_empty().then_some(())
    })
    .await;
    stack.shutdown().await;
}

/// Two accounts whose creation fails: with maxConcurrent 2 and a tolerance
/// of 1, the rollout stops once both have failed, the set is Stalled naming
/// them, and no other account is asked to create. A new template (the
/// failing accounts excluded) resumes it; a tag change then rolls out with
/// at most two children changing at once.
pub async fn the_failure_tolerance_stops_a_rollout_and_a_template_change_rolls_out_at_its_pace(
    plane: &mut ControlPlane,
) {
    // Every Organizations answer is preceded by an empty page with a NextToken, as AWS may do.
    let failing = json!({"organizationEmptyPages": true, "failCreation": [
        {"account": member(1), "reason": "No capacity in this account"},
        {"account": member(2), "reason": "No capacity in this account"},
    ]});
    let stack = Stack::start(plane, "set-pace", &organization(10, failing)).await;
    let ns = stack.namespace.clone();
    let rollout = json!({"maxConcurrent": 2, "failureTolerance": 1});
    apply_set(&stack, &ns, "paced", set_spec("30s", rollout.clone())).await;
    let set = wait_for_set(&stack, &ns, "paced", "Stalled", "True", Some("FailureToleranceExceeded")).await;
    let status = set.status.clone().unwrap();
    let failed: Vec<&str> = status.failures.iter().map(|f| f.account_id.as_str()).collect();
    assert_eq!(failed, [member(1), member(2)]);
    assert!(set.condition("Stalled").unwrap().message.contains(&member(1)));
    let at_the_stop = creates_by_account(&stack).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let creates = creates_by_account(&stack).await;
    assert_eq!(creates, at_the_stop, "the rollout stopped: no CreateInstance after the second failure");
    assert!(creates.contains_key(&member(1)) && creates.contains_key(&member(2)), "{creates:?}");
    // The two failures, and at most maxConcurrent accounts started while only one had failed.
    assert!(creates.len() <= 4, "{creates:?}");

    // Excluding them is a new spec: the rollout goes on, two at a time.
    let mut spec = set_spec("30s", rollout.clone());
    spec["organization"]["excludeAccounts"] = json!([member(1), member(2)]);
    apply_set(&stack, &ns, "paced", spec.clone()).await;
    wait_for_set(&stack, &ns, "paced", "Ready", "True", Some("AllInstancesReady")).await;
    assert_eq!(creates_by_account(&stack).await.len(), 10, "each account asked once, the excluded included");

    // A tag change: never more than two children written from the new template and not yet Ready.
    spec["template"]["tags"]["team"] = json!("identity");
    let changed = apply_set(&stack, &ns, "paced", spec).await;
    let mut most_in_flight = 0;
    let deadline = tokio::time::Instant::now() + CONVERGE;
    loop {
        let set = sets(&stack, &ns).get("paced").await.unwrap();
        let hash = set.status.as_ref().and_then(|s| s.rollout.as_ref()).map(|r| r.template_hash.clone());
        let kids = children(&stack, &ns, "paced").await;
        let in_flight = kids
            .values()
            .filter(|c| c.annotations().get(TEMPLATE_HASH) == hash.as_ref())
            .filter(|c| {
                c.condition("Ready")
                    .is_none_or(|r| r.status != "True" || r.observed_generation != c.metadata.generation)
            })
            .count();
        most_in_flight = most_in_flight.max(in_flight);
        let done = set
            .condition("Ready")
            .is_some_and(|r| r.status == "True" && r.observed_generation == changed.metadata.generation);
        if done {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the rollout did not finish: {:?}", set.status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(most_in_flight <= 2, "at most maxConcurrent children changed at once, saw {most_in_flight}");
    for (account, child) in children(&stack, &ns, "paced").await {
        assert_eq!(child.spec.tags["team"], "identity", "{account}");
    }
    stack.shutdown().await;
}

/// An operator SIGKILLed while a set of 20 rolls out five at a time, then
/// started again: every account ends with one instance and one CreateInstance.
pub async fn sigkill_mid_rollout_keeps_one_create_instance_per_account(plane: &mut ControlPlane) {
    let mut stack = Stack::start(plane, "set-crash", &organization(20, json!({"createSeconds": 2.0}))).await;
    let ns = stack.namespace.clone();
    apply_set(&stack, &ns, "crashing", set_spec("30s", json!({"maxConcurrent": 5}))).await;
    eventually("the first CreateInstance calls", CONVERGE, || async {
        (creates_by_account(&stack).await.len() >= 3).then_some(())
    })
    .await;
    stack.kill_operator().await;
    let before: BTreeSet<String> = creates_by_account(&stack).await.into_keys().collect();
    assert!(before.len() < 20, "killed mid-rollout: {before:?}");
    stack.start_operator().await;
    wait_for_set(&stack, &ns, "crashing", "Ready", "True", Some("AllInstancesReady")).await;
    let creates = creates_by_account(&stack).await;
    assert_eq!(creates.len(), 20, "{creates:?}");
    assert!(creates.values().all(|n| *n == 1), "one CreateInstance per account: {creates:?}");
    for n in 1..=20 {
        assert_eq!(stack.instances_of(&member(n)).await.len(), 1, "{}", member(n));
    }
    stack.shutdown().await;
}

/// A set whose spec AWS or its children could never accept is refused by
/// the API server, naming the field; nothing reaches Organizations.
pub async fn invalid_sets_are_refused_at_admission(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "set-admission", &organization(2, json!({}))).await;
    let ns = stack.namespace.clone();
    let with = |pointer: &str, value: Value| {
        let mut spec = set_spec("10m", json!({}));
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        spec.pointer_mut(parent).unwrap_or_else(|| panic!("{parent}"))[key] = value;
        spec
    };
    let cases = [
        (
            "rendered name too long",
            with("/template/name", json!("sandbox-{accountId}-and-more-xyz")),
            "spec.template.name",
        ),
        ("name with a space", with("/template/name", json!("sandbox {accountId}")), "spec.template.name"),
        ("unknown placeholder", with("/template/name", json!("sandbox-{accountEmail}")), "spec.template.name"),
        ("tag value with *", with("/template/tags/team", json!("a*b")), "spec.template.tags"),
        (
            "export without the account",
            with("/template", json!({"name": "sandbox-{accountId}", "exportTo": {"configMapName": "sso-ids"}})),
            "spec.template.exportTo",
        ),
        (
            "role template without the account",
            with("/accountCredentials/roleArnTemplate", json!("arn:aws:iam::111122223333:role/admin")),
            "spec.accountCredentials.roleArnTemplate",
        ),
        ("no OU", with("/organization/organizationalUnits", json!([])), "spec.organization.organizationalUnits"),
        (
            "not an OU",
            with("/organization/organizationalUnits", json!(["sandboxes"])),
            "spec.organization.organizationalUnits",
        ),
        (
            "account not 12 digits",
            with("/organization", json!({"organizationalUnits": [SANDBOXES], "excludeAccounts": ["1234"]})),
            "spec.organization.excludeAccounts",
        ),
        ("no pace", with("/rollout", json!({"maxConcurrent": 0})), "spec.rollout.maxConcurrent"),
        ("interval in words", with("/readInterval", json!("soon")), "spec.readInterval"),
        ("unknown removal policy", with("/accountRemovalPolicy", json!("Orphan")), "spec.accountRemovalPolicy"),
    ];
    // As `kubectl create` sends it: untyped, so that a value no type could hold reaches the API server.
    let untyped: Api<kube::api::DynamicObject> = Api::namespaced_with(
        stack.client.clone(),
        &ns,
        &kube::api::ApiResource::erase::<IdentityCenterInstanceSet>(&()),
    );
    let create = |name: String, spec: Value| {
        let object = json!({
            "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstanceSet",
            "metadata": {"name": name}, "spec": spec,
        });
        let api = untyped.clone();
        async move { api.create(&Default::default(), &serde_json::from_value(object).unwrap()).await }
    };
    let mut wrong = Vec::new();
    for (i, (what, spec, field)) in cases.into_iter().enumerate() {
        match create(format!("bad-{i}"), spec).await {
            Err(kube::Error::Api(status)) if status.code == 422 && status.message.contains(field) => {}
            other => wrong.push(format!("{what}: {other:?}")),
        }
    }
    match create("s".repeat(51), set_spec("10m", json!({}))).await {
        Err(kube::Error::Api(status)) if status.code == 422 && status.message.contains("at most 50 characters") => {}
        other => wrong.push(format!("a name too long for its children's: {other:?}")),
    }
    assert!(wrong.is_empty(), "not refused with the field named:\n{}", wrong.join("\n"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let reads = stack.calls().await.into_iter().filter(|c| c.service == "organizations").count();
    assert_eq!(reads, 0, "no refused set reached Organizations");
    stack.shutdown().await;
}
