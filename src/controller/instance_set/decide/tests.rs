use serde_json::json;

use super::*;
use crate::api::IdentityCenterInstanceSet;

const HASH: &str = "0000000000000new";
const OLD: &str = "0000000000000old";

fn set(extra: serde_json::Value) -> IdentityCenterInstanceSetSpec {
    let mut spec = json!({
        "organization": {"organizationalUnits": ["ou-abcd-11111111"]},
        "accountCredentials": {"roleArnTemplate": "arn:aws:iam::{accountId}:role/admin"},
        "template": {"name": "sso-{accountId}"},
        "rollout": {"maxConcurrent": 2},
    });
    for (key, value) in extra.as_object().unwrap() {
        spec[key] = value.clone();
    }
    let set: IdentityCenterInstanceSet = serde_json::from_value(json!({
        "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstanceSet",
        "metadata": {"name": "s", "namespace": "n"}, "spec": spec,
    }))
    .unwrap();
    set.spec
}

fn account(id: &str) -> Account {
    Account { id: id.into(), name: id.into(), state: AccountState::Active }
}

fn rendered(id: &str) -> IdentityCenterInstanceSpec {
    IdentityCenterInstanceSpec { name: Some(format!("sso-{id}")), ..Default::default() }
}

fn wanted(ids: &[&str]) -> Vec<Wanted> {
    ids.iter().map(|id| Wanted { account: account(id), spec: Ok(rendered(id)) }).collect()
}

/// A child of `id`, written from the current template, as rendered, progressing.
fn child(id: &str) -> Child {
    Child {
        name: format!("s-{id}"),
        account_id: id.into(),
        template_hash: Some(HASH.into()),
        spec: rendered(id),
        health: Health::Progressing,
        deleting: false,
    }
}

impl Child {
    fn ready(self) -> Self {
        Self { health: Health::Ready, ..self }
    }
    fn failed(self) -> Self {
        Self { health: Health::Failed { reason: "NotPermitted".into(), message: "no grant".into() }, ..self }
    }
    fn written_by_old_template(self) -> Self {
        Self { template_hash: Some(OLD.into()), ..self }
    }
    fn edited(self) -> Self {
        Self { spec: IdentityCenterInstanceSpec { name: Some("hand-made".into()), ..self.spec }, ..self }
    }
}

fn read(accounts: &[Account]) -> BTreeMap<String, Account> {
    accounts.iter().map(|a| (a.id.clone(), a.clone())).collect()
}

/// What a plan writes, by account (children are named s-<account>).
#[derive(Debug, Default, PartialEq)]
struct Writes {
    create: Vec<String>,
    update: Vec<String>,
    restore: Vec<String>,
    release: Vec<(String, bool)>,
    stopped: bool,
    counts: (u32, u32, u32, u32, u32),
}

fn writes(plan: &Plan) -> Writes {
    let account = |name: &String| name.trim_start_matches("s-").to_string();
    let t = &plan.tally;
    Writes {
        create: plan.create.iter().map(|(a, _)| a.id.clone()).collect(),
        update: plan.update.iter().map(|(c, _)| account(c)).collect(),
        restore: plan.restore.iter().map(|(c, _)| account(c)).collect(),
        release: plan.release.iter().map(|r| (r.account_id.clone(), r.retain)).collect(),
        stopped: t.stopped,
        counts: (t.accounts, t.ready, t.progressing, t.failed, t.updated),
    }
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn children_are_created_and_changed_at_the_rollouts_pace_and_stop_at_the_tolerance() {
    let five = ["1", "2", "3", "4", "5"];
    struct Case {
        what: &'static str,
        spec: IdentityCenterInstanceSetSpec,
        children: Vec<Child>,
        want: Writes,
    }
    let cases = [
        Case {
            what: "a new set creates as many as the pace allows, lowest account first",
            spec: set(json!({})),
            children: vec![],
            want: Writes { create: ids(&["1", "2"]), counts: (5, 0, 5, 0, 0), ..Writes::default() },
        },
        Case {
            what: "two in flight fill the pace",
            spec: set(json!({})),
            children: vec![child("1"), child("2")],
            want: Writes { counts: (5, 0, 5, 0, 2), ..Writes::default() },
        },
        Case {
            what: "one Ready frees a slot",
            spec: set(json!({})),
            children: vec![child("1").ready(), child("2")],
            want: Writes { create: ids(&["3"]), counts: (5, 1, 4, 0, 2), ..Writes::default() },
        },
        Case {
            what: "a failure beyond the tolerance stops the rollout",
            spec: set(json!({})),
            children: vec![child("1").ready(), child("2").failed()],
            want: Writes { stopped: true, counts: (5, 1, 3, 1, 2), ..Writes::default() },
        },
        Case {
            what: "a failure within the tolerance does not",
            spec: set(json!({"rollout": {"maxConcurrent": 2, "failureTolerance": 1}})),
            children: vec![child("1").ready(), child("2").failed()],
            want: Writes { create: ids(&["3", "4"]), counts: (5, 1, 3, 1, 2), ..Writes::default() },
        },
        Case {
            what: "a template change rolls out at the pace, a failed child first",
            spec: set(json!({})),
            children: five.iter().map(|id| child(id).ready().written_by_old_template()).chain([]).collect::<Vec<_>>()
                [..4]
                .iter()
                .cloned()
                .chain([child("5").failed().written_by_old_template()])
                .collect(),
            want: Writes { update: ids(&["5", "1"]), counts: (5, 0, 5, 0, 0), ..Writes::default() },
        },
        Case {
            what: "a hand edit is put back at once, whatever the pace",
            spec: set(json!({})),
            children: vec![child("1"), child("2"), child("3").ready().edited(), child("4").ready(), child("5").ready()],
            want: Writes { restore: ids(&["3"]), counts: (5, 2, 3, 0, 5), ..Writes::default() },
        },
        Case {
            what: "a stopped rollout still puts hand edits back",
            spec: set(json!({})),
            children: vec![child("1").failed(), child("2").ready().edited()],
            want: Writes { restore: ids(&["2"]), stopped: true, counts: (5, 0, 4, 1, 2), ..Writes::default() },
        },
    ];
    let all: Vec<Account> = five.iter().map(|id| account(id)).collect();
    for case in cases {
        let got = plan(&case.spec, &wanted(&five), &[], &read(&all), &case.children, HASH);
        assert_eq!(writes(&got), case.want, "{}", case.what);
    }
}

#[test]
fn accounts_that_leave_are_let_go_as_the_removal_policy_says_and_closed_ones_always_retained() {
    let with = |state| Account { state, ..account("2") };
    let cases = [
        ("moved out, Retain", json!({}), None, Some(true)),
        ("moved out, Delete", json!({"accountRemovalPolicy": "Delete"}), None, Some(false)),
        (
            "suspended, Delete",
            json!({"accountRemovalPolicy": "Delete"}),
            Some(with(AccountState::Suspended)),
            Some(false),
        ),
        ("suspended, Retain", json!({}), Some(with(AccountState::Suspended)), Some(true)),
        ("closed, Delete", json!({"accountRemovalPolicy": "Delete"}), Some(with(AccountState::Closed)), Some(true)),
        (
            "closing, Delete",
            json!({"accountRemovalPolicy": "Delete"}),
            Some(with(AccountState::PendingClosure)),
            Some(true),
        ),
        (
            "excluded",
            json!({"organization": {"organizationalUnits": ["ou-abcd-11111111"], "excludeAccounts": ["000000000002"]}}),
            Some(with(AccountState::Active)),
            Some(true),
        ),
        (
            "still activating: kept as it is",
            json!({"accountRemovalPolicy": "Delete"}),
            Some(with(AccountState::PendingActivation)),
            None,
        ),
    ];
    for (what, extra, found, want) in cases {
        let spec = set(extra);
        let mut accounts = vec![account("1")];
        accounts.extend(found.map(|a| Account { id: "000000000002".into(), ..a }));
        let membership = membership(&spec, accounts.clone());
        let wanted: Vec<Wanted> =
            membership.wanted.iter().map(|a| Wanted { account: a.clone(), spec: Ok(rendered(&a.id)) }).collect();
        let children = [child("1").ready(), child("000000000002").ready()];
        let got = plan(&spec, &wanted, &membership.kept, &read(&accounts), &children, HASH);
        let released: Option<bool> = got.release.iter().find(|r| r.account_id == "000000000002").map(|r| r.retain);
        assert_eq!(released, want, "{what}");
        assert!(got.release.iter().all(|r| r.account_id != "1"), "{what}");
    }
}

#[test]
fn include_and_exclude_choose_the_accounts_and_a_bad_render_fails_its_account() {
    let spec = set(json!({"organization": {
        "organizationalUnits": ["ou-abcd-11111111"],
        "includeAccounts": ["1", "2", "3"],
        "excludeAccounts": ["3"],
    }}));
    let chosen = membership(&spec, ["1", "2", "3", "4"].map(account));
    assert_eq!(chosen.wanted.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["1", "2"]);

    let wanted = vec![
        Wanted { account: account("1"), spec: Ok(rendered("1")) },
        Wanted { account: account("2"), spec: Err("the name renders badly".into()) },
    ];
    let both = read(&[account("1"), account("2")]);
    let tolerant = set(json!({"rollout": {"failureTolerance": 1}}));
    let got = plan(&tolerant, &wanted, &[], &both, &[], HASH);
    assert_eq!(writes(&got).create, ids(&["1"]), "the other account has nothing to create");
    assert_eq!(got.tally.failures, [failure("2", "TemplateNotRenderable", "the name renders badly")]);
    let strict = plan(&set(json!({})), &wanted, &[], &both, &[], HASH);
    assert!(strict.tally.stopped && strict.create.is_empty(), "a render failure counts against the tolerance");
}

#[test]
fn a_set_is_complete_when_every_account_has_a_ready_child_of_the_current_template() {
    let spec = set(json!({}));
    let all = [account("1"), account("2")];
    let done = plan(&spec, &wanted(&["1", "2"]), &[], &read(&all), &[child("1").ready(), child("2").ready()], HASH);
    assert!(done.tally.complete(done.is_empty()));
    let old = [child("1").ready(), child("2").ready().written_by_old_template()];
    let rolling = plan(&spec, &wanted(&["1", "2"]), &[], &read(&all), &old, HASH);
    assert!(!rolling.tally.complete(rolling.is_empty()));
    let leaving = plan(&spec, &wanted(&["1"]), &[], &read(&all[..1]), &[child("1").ready(), child("2").ready()], HASH);
    assert!(!leaving.tally.complete(leaving.is_empty()), "a child still to let go");
}

#[test]
fn an_account_missing_from_one_read_is_let_go_only_once_the_read_before_missed_it_too() {
    let children = [child("1"), child("2"), child("3")];
    let now = read(&[account("1")]);
    let before = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect::<std::collections::BTreeSet<_>>();
    let cases = [
        ("the first read of this process", None, vec!["2", "3"]),
        ("2 was in the read before, 3 was not", Some(before(&["1", "2"])), vec!["2"]),
        ("both missed twice", Some(before(&["1"])), vec![]),
    ];
    for (what, before, want) in cases {
        assert_eq!(unconfirmed_departures(&children, &now, before.as_ref()), ids(&want), "{what}");
    }
}
