use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::fixtures::ARN;

const OTHER_ARN: &str = "arn:aws:sso:::instance/ssoins-2222222222222222";

fn spec() -> IdentityCenterInstanceSpec {
    IdentityCenterInstanceSpec::default()
}

/// A status whose instance the object created.
fn status(arn: Option<&str>, region: Option<&str>) -> IdentityCenterInstanceStatus {
    IdentityCenterInstanceStatus {
        instance_arn: arn.map(Into::into),
        ownership: arn.map(|_| InstanceOwnership::Created),
        region: region.map(Into::into),
        ..Default::default()
    }
}

fn held_as(ownership: Option<InstanceOwnership>, requested: bool) -> IdentityCenterInstanceStatus {
    IdentityCenterInstanceStatus {
        ownership,
        create_requested_at: requested.then(|| Time("2026-11-28T10:00:00Z".parse().unwrap())),
        ..status(Some(ARN), Some("eu-west-1"))
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

type PlanCase = (
    &'static str,
    IdentityCenterInstanceSpec,
    Option<IdentityCenterInstanceStatus>,
    Option<&'static str>,
    Result<(&'static str, Source), &'static str>,
);

#[test]
fn plan_picks_region_and_source() {
    let with = |f: fn(&mut IdentityCenterInstanceSpec)| {
        let mut s = spec();
        f(&mut s);
        s
    };
    let observe = with(|s| s.management_policy = ManagementPolicy::ObserveOnly);
    let adopt = with(|s| s.instance_arn = Some(ARN.into()));
    let in_us = with(|s| s.region = Some("us-east-1".into()));
    let recorded = status(Some(ARN), Some("eu-west-1"));
    let cases: Vec<PlanCase> = vec![
        ("new object, default region", spec(), None, Some("eu-west-1"), Ok(("eu-west-1", Source::Create))),
        ("spec region wins over default", in_us.clone(), None, Some("eu-west-1"), Ok(("us-east-1", Source::Create))),
        (
            "recorded region wins over default",
            spec(),
            Some(recorded.clone()),
            Some("us-east-1"),
            Ok(("eu-west-1", Source::Recorded(ARN.into()))),
        ),
        ("adopt", adopt.clone(), None, Some("eu-west-1"), Ok(("eu-west-1", Source::Adopt(ARN.into())))),
        (
            "adopted and recorded",
            adopt.clone(),
            Some(recorded.clone()),
            None,
            Ok(("eu-west-1", Source::Recorded(ARN.into()))),
        ),
        ("observe without arn", observe.clone(), None, Some("eu-west-1"), Ok(("eu-west-1", Source::Discover))),
        (
            "observe looks again even when recorded",
            observe,
            Some(recorded.clone()),
            None,
            Ok(("eu-west-1", Source::Discover)),
        ),
        (
            "an observed instance does not become the managed one",
            spec(),
            Some(held_as(Some(InstanceOwnership::Observed), false)),
            None,
            Ok(("eu-west-1", Source::Create)),
        ),
        (
            "an observed instance named in spec is adopted, not recorded",
            adopt.clone(),
            Some(held_as(Some(InstanceOwnership::Observed), false)),
            None,
            Ok(("eu-west-1", Source::Adopt(ARN.into()))),
        ),
        (
            "observe by ARN",
            with(|s| {
                s.management_policy = ManagementPolicy::ObserveOnly;
                s.instance_arn = Some(ARN.into());
            }),
            None,
            Some("eu-west-1"),
            Ok(("eu-west-1", Source::Observe(ARN.into()))),
        ),
        (
            "a status from before ownership owns what it created",
            spec(),
            Some(held_as(None, true)),
            None,
            Ok(("eu-west-1", Source::Recorded(ARN.into()))),
        ),
        (
            "a status from before ownership owns nothing it did not create",
            spec(),
            Some(held_as(None, false)),
            None,
            Ok(("eu-west-1", Source::Create)),
        ),
        ("no region anywhere", spec(), None, None, Err("RegionUnknown")),
        ("region changed after creation", in_us, Some(recorded.clone()), None, Err("RegionChanged")),
        (
            "instanceArn differs from recorded",
            with(|s| s.instance_arn = Some(OTHER_ARN.into())),
            Some(recorded),
            None,
            Err("InstanceArnMismatch"),
        ),
    ];
    for (name, spec, status, default, want) in cases {
        let got = plan(&spec, status.as_ref(), None, default);
        match (got, want) {
            (Ok(p), Ok((region, source))) => assert_eq!((p.region.as_str(), p.source), (region, source), "{name}"),
            (Err(outcome), Err(reason)) => {
                assert_eq!(outcome.reason().as_str(), reason, "{name}");
                assert!(matches!(outcome, Outcome::Stalled { .. }), "{name}: refusals are terminal");
            }
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn a_restored_object_takes_back_the_instance_its_annotation_names_and_only_then() {
    let restored = plan(&spec(), None, Some(ARN), Some("eu-west-1")).unwrap();
    assert_eq!(restored.source, Source::Restore(ARN.into()));
    let recorded = status(Some(OTHER_ARN), Some("eu-west-1"));
    let ongoing = plan(&spec(), Some(&recorded), Some(ARN), None).unwrap();
    assert_eq!(ongoing.source, Source::Recorded(OTHER_ARN.into()), "status wins over the annotation");
    let adopt = IdentityCenterInstanceSpec { instance_arn: Some(OTHER_ARN.into()), ..spec() };
    let adopting = plan(&adopt, None, Some(ARN), Some("eu-west-1")).unwrap();
    assert_eq!(adopting.source, Source::Adopt(OTHER_ARN.into()), "spec.instanceArn wins");
    let observe = IdentityCenterInstanceSpec { management_policy: ManagementPolicy::ObserveOnly, ..spec() };
    assert_eq!(plan(&observe, None, Some(ARN), Some("eu-west-1")).unwrap().source, Source::Discover);
}

#[test]
fn only_creation_and_adoption_make_an_instance_the_objects_own() {
    use InstanceOwnership::*;
    let cases = [
        (Source::Create, None, Created),
        (Source::Restore(ARN.into()), None, Created),
        (Source::Adopt(ARN.into()), Some(Observed), Adopted),
        (Source::Observe(ARN.into()), Some(Adopted), Observed),
        (Source::Discover, Some(Created), Observed),
        (Source::Recorded(ARN.into()), Some(Adopted), Adopted),
        (Source::Recorded(ARN.into()), None, Created),
    ];
    for (source, recorded, want) in cases {
        assert_eq!(ownership(&source, recorded), want, "{source:?} {recorded:?}");
    }
}

fn claimant(key: &str, account: &str, has_instance: bool, created: i64) -> Claimant {
    Claimant {
        key: key.into(),
        account: account.into(),
        has_instance,
        created: Some(Timestamp::from_second(created).unwrap()),
    }
}

#[test]
fn one_object_per_account_holds_the_claim() {
    let me_new = claimant("ns/b", "111111111111", false, 200);
    let older = claimant("ns/a", "111111111111", false, 100);
    let younger_with_instance = claimant("ns/c", "111111111111", true, 300);
    let other_account = claimant("ns/d", "222222222222", true, 50);
    let same_time = claimant("ns/a2", "111111111111", false, 200);
    let cases = [
        ("alone", &me_new, vec![], None),
        ("other account does not compete", &me_new, vec![other_account.clone()], None),
        ("older object wins", &me_new, vec![older.clone()], Some("ns/a")),
        ("I am the older one", &older, vec![me_new.clone()], None),
        ("an object with an instance wins over age", &older, vec![younger_with_instance.clone()], Some("ns/c")),
        ("tie broken by name", &me_new, vec![same_time], Some("ns/a2")),
        ("my own entry in the store is ignored", &me_new, vec![me_new.clone()], None),
    ];
    for (name, me, others, want) in cases {
        assert_eq!(claim_holder(me, &others).map(|c| c.key.as_str()), want, "{name}");
    }
}

#[test]
fn observe_only_finds_the_accounts_or_the_organizations_instance() {
    let own = Instance::test(InstanceState::Active).owned_by("111111111111");
    let org = Instance { arn: OTHER_ARN.into(), ..Instance::test(InstanceState::Active).owned_by("999999999999") };
    assert_eq!(observed_instance(&[org.clone(), own.clone()], "111111111111").map(|i| i.arn.as_str()), Some(ARN));
    assert_eq!(observed_instance(std::slice::from_ref(&org), "111111111111").map(|i| i.arn.as_str()), Some(OTHER_ARN));
    assert_eq!(observed_instance(&[], "111111111111"), None);
    assert_eq!(owned_by(&[org], "111111111111"), None, "creation recovery only takes the account's own instance");
}

#[test]
fn polling_starts_fast_and_slows_down_to_a_cap() {
    let cases = [(0, 2), (9, 2), (10, 5), (59, 5), (60, 15), (299, 15), (300, 30), (86_400, 30)];
    for (elapsed, delay) in cases {
        assert_eq!(poll_delay(Duration::from_secs(elapsed)), Duration::from_secs(delay), "after {elapsed}s");
    }
}

#[test]
fn lifecycle_state_decides_wait_fail_or_sync() {
    let failed = Instance {
        state_reason: Some("Quota for identity stores reached".into()),
        ..Instance::test(InstanceState::CreateFailed).owned_by("1")
    };
    let cases = [
        (Instance::test(InstanceState::Active).owned_by("1"), "Active"),
        (Instance::test(InstanceState::CreateInProgress).owned_by("1"), "Creating"),
        (Instance::test(InstanceState::DeleteInProgress).owned_by("1"), "Deleting"),
        (Instance::test(InstanceState::Other("MIGRATING".into())).owned_by("1"), "UnknownState"),
        (failed.clone(), "CreateFailed"),
    ];
    for (inst, want) in cases {
        let got = match lifecycle(&inst) {
            Lifecycle::Active => "Active",
            Lifecycle::Wait(o) | Lifecycle::Failed(o) => o.reason().as_str(),
        };
        assert_eq!(got, want, "{:?}", inst.state);
    }
    let Lifecycle::Failed(outcome) = lifecycle(&failed) else { panic!() };
    assert!(outcome.message().contains("Quota for identity stores reached"), "StatusReason is shown verbatim");
}

#[test]
fn rename_only_when_the_spec_names_a_different_name() {
    let named = |n: &str| IdentityCenterInstanceSpec { name: Some(n.into()), ..spec() };
    let inst = Instance::test(InstanceState::Active).owned_by("1");
    assert_eq!(rename(&named("platform"), &inst), None);
    assert_eq!(rename(&named("renamed"), &inst), Some("renamed"));
    assert_eq!(rename(&spec(), &inst), None, "no name in the spec leaves AWS's name alone");
    let unnamed = Instance { name: None, ..inst };
    assert_eq!(rename(&named("platform"), &unnamed), Some("platform"));
}

#[test]
fn tag_changes_send_only_the_difference() {
    let cases = [
        ("in sync", tags(&[("a", "1")]), tags(&[("a", "1")]), tags(&[]), vec![]),
        ("added", tags(&[("a", "1"), ("b", "2")]), tags(&[("a", "1")]), tags(&[("b", "2")]), vec![]),
        ("changed value", tags(&[("a", "9")]), tags(&[("a", "1")]), tags(&[("a", "9")]), vec![]),
        ("removed", tags(&[]), tags(&[("a", "1")]), tags(&[]), vec!["a"]),
        ("aws: keys are AWS's", tags(&[]), tags(&[("aws:cloudformation:stack", "x")]), tags(&[]), vec![]),
        ("empty value is a value", tags(&[("a", "")]), tags(&[("a", "1")]), tags(&[("a", "")]), vec![]),
    ];
    for (name, desired, actual, set, remove) in cases {
        let got = tag_changes(&desired, &actual);
        assert_eq!(got, TagChanges { set, remove: remove.into_iter().map(String::from).collect() }, "{name}");
    }
    assert!(tag_changes(&BTreeMap::new(), &BTreeMap::new()).is_empty());
}

#[test]
fn deletion_follows_policy_and_what_was_recorded() {
    let with = |m, d| IdentityCenterInstanceSpec { management_policy: m, deletion_policy: d, ..spec() };
    let requested: Timestamp = "2026-11-28T10:00:00Z".parse().unwrap();
    let recorded = |arn: Option<&str>, requested: Option<Timestamp>| IdentityCenterInstanceStatus {
        instance_arn: arn.map(String::from),
        ownership: arn.map(|_| InstanceOwnership::Adopted),
        create_requested_at: requested.map(Time),
        ..Default::default()
    };
    let observed =
        IdentityCenterInstanceStatus { ownership: Some(InstanceOwnership::Observed), ..recorded(Some(ARN), None) };
    use {DeletionPolicy::*, ManagementPolicy::*};
    let cases = [
        (with(Manage, Retain), recorded(Some(ARN), None), Deletion::Release(Release::Retained)),
        (with(Manage, Delete), recorded(Some(ARN), None), Deletion::Delete(Doomed::Recorded(ARN.into()))),
        (with(Manage, Delete), recorded(Some(ARN), Some(requested)), Deletion::Delete(Doomed::Recorded(ARN.into()))),
        (with(Manage, Delete), recorded(None, Some(requested)), Deletion::Delete(Doomed::Recover(requested))),
        (with(Manage, Delete), recorded(None, None), Deletion::Release(Release::NeverCreated)),
        (with(ObserveOnly, Delete), recorded(Some(ARN), None), Deletion::Release(Release::ObserveOnly)),
        (with(Manage, Retain), recorded(None, Some(requested)), Deletion::Release(Release::Retained)),
        (with(Manage, Delete), observed.clone(), Deletion::Release(Release::NeverCreated)),
        (
            with(Manage, Delete),
            IdentityCenterInstanceStatus { create_requested_at: Some(Time(requested)), ..observed },
            Deletion::Delete(Doomed::Recover(requested)),
        ),
    ];
    for (spec, status, want) in cases {
        let got = deletion(&spec, Some(&status));
        assert_eq!(got, want, "{:?}/{:?} {status:?}", spec.management_policy, spec.deletion_policy);
    }
    assert_eq!(deletion(&with(Manage, Delete), None), Deletion::Release(Release::NeverCreated));
}

#[test]
fn delete_waits_for_the_instance_to_be_gone() {
    let cases = [
        (None, DeleteProgress::Gone),
        (Some(Instance::test(InstanceState::DeleteInProgress).owned_by("1")), DeleteProgress::Wait),
        (Some(Instance::test(InstanceState::Active).owned_by("1")), DeleteProgress::SendDelete),
        (Some(Instance::test(InstanceState::CreateInProgress).owned_by("1")), DeleteProgress::SendDelete),
        (Some(Instance::test(InstanceState::CreateFailed).owned_by("1")), DeleteProgress::SendDelete),
    ];
    for (inst, want) in cases {
        assert_eq!(delete_progress(inst.as_ref()), want, "{inst:?}");
    }
}

#[test]
fn a_recorded_instance_ties_the_object_to_its_account() {
    let recorded = IdentityCenterInstanceStatus {
        instance_arn: Some(ARN.into()),
        target_account_id: Some("111111111111".into()),
        ..Default::default()
    };
    let nothing_yet =
        IdentityCenterInstanceStatus { target_account_id: Some("111111111111".into()), ..Default::default() };
    let cases = [
        (Some(&recorded), "111111111111", None),
        (Some(&recorded), "222222222222", Some("AccountChanged")),
        (Some(&nothing_yet), "222222222222", None),
        (None, "222222222222", None),
    ];
    for (status, account, want) in cases {
        assert_eq!(
            account_changed(status, account).as_ref().map(|o| o.reason().as_str()),
            want,
            "{status:?} {account}"
        );
    }
}

#[test]
fn crash_recovery_takes_only_an_instance_created_after_the_marker() {
    let at = |s: &str| -> Timestamp { s.parse().unwrap() };
    let created = |when: Option<&str>, owner: &str| Instance {
        created_date: when.map(at),
        ..Instance::test(InstanceState::Active).owned_by(owner)
    };
    let elsewhere = created(Some("2026-11-28T10:00:03Z"), "1").in_region("us-east-1");
    let here = created(Some("2026-11-28T10:00:03Z"), "1").in_region("eu-west-1");
    let marker = at("2026-11-28T10:00:00Z");
    let cases = [
        ("created just after the call", created(Some("2026-11-28T10:00:03Z"), "1"), true),
        ("clock skew of a minute", created(Some("2026-11-28T09:59:00Z"), "1"), true),
        ("the account's older instance", created(Some("2026-11-28T09:00:00Z"), "1"), false),
        ("no creation date", created(None, "1"), false),
        ("another account's", created(Some("2026-11-28T10:00:03Z"), "2"), false),
        ("made in the Region the call went to", here, true),
        ("made in another Region", elsewhere, false),
    ];
    for (name, candidate, want) in cases {
        let found = recovered(std::slice::from_ref(&candidate), "1", marker, "eu-west-1");
        assert_eq!(found.is_some(), want, "{name}");
    }
}

#[test]
fn only_the_accounts_own_instance_is_managed() {
    assert_eq!(foreign_owner(&Instance::test(InstanceState::Active).owned_by("111111111111"), "111111111111"), None);
    let foreign = Instance::test(InstanceState::Active).owned_by("999999999999");
    let outcome = foreign_owner(&foreign, "111111111111").unwrap();
    assert_eq!(outcome.reason(), Reason::NotOwnedByTargetAccount);
    assert!(matches!(outcome, Outcome::Stalled { .. }));
}

#[test]
fn a_delete_begins_without_a_look_only_when_the_status_shows_it_active_and_unsent() {
    let marker = || Some(Time("2026-11-28T11:00:00Z".parse().unwrap()));
    let cases = [
        (Some("ACTIVE"), None, DeleteStart::Send),
        (Some("ACTIVE"), marker(), DeleteStart::Look),
        (Some("DELETE_IN_PROGRESS"), marker(), DeleteStart::Follow),
        (Some("DELETE_IN_PROGRESS"), None, DeleteStart::Follow),
        (Some("CREATE_IN_PROGRESS"), None, DeleteStart::Look),
        (None, None, DeleteStart::Look),
    ];
    for (state, delete_requested_at, expected) in cases {
        let status = IdentityCenterInstanceStatus {
            state: state.map(Into::into),
            delete_requested_at,
            ..status(Some(ARN), Some("eu-west-1"))
        };
        assert_eq!(delete_start(&status), expected, "{state:?}");
    }
}

#[test]
fn tags_are_known_only_between_create_and_the_first_active_sight_of_the_same_generation() {
    let created = |generation: Option<i64>, state: Option<&str>| IdentityCenterInstanceStatus {
        create_requested_generation: generation,
        state: state.map(Into::into),
        ..status(Some(ARN), Some("eu-west-1"))
    };
    let adopted =
        IdentityCenterInstanceStatus { ownership: Some(InstanceOwnership::Adopted), ..created(Some(2), None) };
    let cases = [
        (Some(created(Some(2), None)), false),
        (Some(created(Some(2), Some("CREATE_IN_PROGRESS"))), false),
        (Some(created(Some(2), Some("ACTIVE"))), true),
        (Some(created(Some(1), None)), true),
        (Some(created(None, None)), true),
        (Some(adopted), true),
        (None, true),
    ];
    for (previous, needed) in cases {
        assert_eq!(tags_need_reading(previous.as_ref(), Some(2)), needed, "{previous:?}");
    }
}

#[test]
fn a_taken_account_is_explained_with_the_region_its_instance_lives_in() {
    let cases = [
        (None, Reason::InstanceAlreadyExists, "set spec.instanceArn"),
        (Some("eu-west-1"), Reason::InstanceAlreadyExists, "set spec.instanceArn"),
        (Some("us-east-1"), Reason::InstanceInAnotherRegion, "spec.region: us-east-1"),
    ];
    for (lives_in, reason, advice) in cases {
        let mut existing = Instance::test(InstanceState::Active);
        existing.primary_region = lives_in.map(Into::into);
        let outcome = existing_instance(&existing, "111122223333", "eu-west-1");
        assert_eq!(outcome.reason(), reason, "{lives_in:?}");
        assert!(outcome.message().contains(advice) && outcome.message().contains(ARN), "{}", outcome.message());
    }
}

#[test]
fn a_refused_create_stands_for_its_generation_only() {
    let refused_at = |generation: Option<i64>| IdentityCenterInstanceStatus {
        create_refused_generation: generation,
        ..Default::default()
    };
    let cases = [(Some(3), Some(3), true), (Some(3), Some(4), false), (None, Some(3), false), (Some(3), None, false)];
    for (refused, generation, expected) in cases {
        assert_eq!(create_refused(Some(&refused_at(refused)), generation), expected, "{refused:?} at {generation:?}");
    }
    assert!(!create_refused(None, Some(3)));
}
