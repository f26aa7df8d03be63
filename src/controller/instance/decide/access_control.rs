//! What the instance's attribute-based access control configuration needs
//! next: spec.accessControlAttributes is the whole list when present (an
//! empty list removes the configuration), and absent leaves AWS's alone.

use crate::api::{AccessControlAttribute, ObservedAccessControlAttributes};
use crate::controller::conditions::{Outcome, Reason};
use crate::sso::{AccessControlAttributes, AttributeChange, AttributesStatus};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The spec asks for nothing, or AWS holds what it asks for.
    InSync,
    /// AWS is still creating the configuration.
    Wait(Outcome),
    /// Send this change, then look again.
    Change(AttributeChange),
    /// AWS failed to create the configuration this generation asked for.
    Stalled(Outcome),
}

/// What the decision looks at besides the spec.
pub struct Facts<'a> {
    pub arn: &'a str,
    /// What DescribeInstanceAccessControlAttributeConfiguration answered.
    pub held: Option<&'a AccessControlAttributes>,
    pub generation: i64,
    /// The generation whose attributes the operator last sent.
    pub sent_for: Option<i64>,
    /// What the status recorded before this look at AWS.
    pub recorded: Option<&'a ObservedAccessControlAttributes>,
}

/// The spec's attributes in the order AWS's are compared in.
pub fn wanted(spec: &[AccessControlAttribute]) -> Vec<AccessControlAttribute> {
    let mut wanted = spec.to_vec();
    wanted.sort();
    wanted
}

/// Whether the status last saw exactly `wanted` ENABLED in AWS: a difference now is drift.
fn in_place(recorded: Option<&ObservedAccessControlAttributes>, wanted: &[AccessControlAttribute]) -> bool {
    recorded.is_some_and(|r| r.status.as_deref() == Some(AttributesStatus::Enabled.as_str()) && r.attributes == wanted)
}

pub fn next(spec: Option<&[AccessControlAttribute]>, facts: &Facts) -> Step {
    let Some(spec) = spec else { return Step::InSync };
    let wanted = wanted(spec);
    let Some(held) = facts.held else {
        return if wanted.is_empty() { Step::InSync } else { Step::Change(AttributeChange::Create(wanted)) };
    };
    let arn = facts.arn;
    match &held.status {
        AttributesStatus::CreationInProgress => Step::Wait(Outcome::Progressing {
            reason: Reason::Updating,
            message: format!(
                "The attribute-based access control configuration of instance {arn} is CREATION_IN_PROGRESS"
            ),
        }),
        AttributesStatus::Other(status) => Step::Wait(Outcome::Progressing {
            reason: Reason::UnknownState,
            message: format!(
                "The attribute-based access control configuration of instance {arn} is {status}, which this \
                 operator does not know"
            ),
        }),
        // Tried for this spec: AWS's reason stands until the spec changes.
        AttributesStatus::CreationFailed if facts.sent_for == Some(facts.generation) && !wanted.is_empty() => {
            let reason = held.reason.as_deref().unwrap_or("AWS gave no reason");
            Step::Stalled(Outcome::Stalled {
                reason: Reason::AccessControlAttributesFailed,
                message: format!(
                    "AWS could not create the attribute-based access control configuration of instance {arn}: \
                     {reason}. Fix spec.accessControlAttributes (or what the reason names), and the operator \
                     tries again."
                ),
            })
        }
        // A failed configuration is taken away before one is created anew.
        AttributesStatus::CreationFailed => Step::Change(AttributeChange::Delete),
        AttributesStatus::Enabled if wanted.is_empty() => Step::Change(AttributeChange::Delete),
        AttributesStatus::Enabled if held.attributes == wanted => Step::InSync,
        // Sent for this spec and never seen in place: AWS is not showing it
        // yet. Sending it again would not help, and would cost a write per poll.
        AttributesStatus::Enabled if facts.sent_for == Some(facts.generation) && !in_place(facts.recorded, &wanted) => {
            Step::Wait(Outcome::Progressing {
                reason: Reason::Updating,
                message: format!(
                    "The access control attributes sent to instance {arn} for this spec are not shown by AWS yet"
                ),
            })
        }
        AttributesStatus::Enabled => Step::Change(AttributeChange::Update(wanted)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(key: &str, source: &str) -> AccessControlAttribute {
        AccessControlAttribute { key: key.into(), source: source.into() }
    }

    fn held(status: AttributesStatus, attributes: &[AccessControlAttribute]) -> AccessControlAttributes {
        AccessControlAttributes {
            status,
            reason: Some("the identity source has no such attribute".into()),
            attributes: attributes.to_vec(),
        }
    }

    fn outcome_reason(step: &Step) -> Option<Reason> {
        match step {
            Step::Wait(outcome) | Step::Stalled(outcome) => Some(outcome.reason()),
            _ => None,
        }
    }

    /// (what, the spec's list, what AWS holds, the step)
    type Case<'a> = (&'a str, Option<&'a [AccessControlAttribute]>, Option<AccessControlAttributes>, Step);

    #[test]
    fn the_spec_is_the_whole_list_and_absent_leaves_aws_alone() {
        let cost = attribute("CostCenter", "${path:enterprise.costCenter}");
        let team = attribute("Team", "${path:enterprise.department}");
        let enabled = |attributes: &[AccessControlAttribute]| held(AttributesStatus::Enabled, attributes);
        let both = [team.clone(), cost.clone()];
        let sorted = vec![cost.clone(), team.clone()];
        let cases: Vec<Case> = vec![
            ("absent, none held", None, None, Step::InSync),
            ("absent, some held", None, Some(enabled(std::slice::from_ref(&cost))), Step::InSync),
            ("empty, none held", Some(&[]), None, Step::InSync),
            (
                "empty, some held",
                Some(&[]),
                Some(enabled(std::slice::from_ref(&cost))),
                Step::Change(AttributeChange::Delete),
            ),
            ("new", Some(&both), None, Step::Change(AttributeChange::Create(sorted.clone()))),
            ("same, any order", Some(&both), Some(enabled(&sorted)), Step::InSync),
            (
                "changed",
                Some(&both),
                Some(enabled(std::slice::from_ref(&cost))),
                Step::Change(AttributeChange::Update(sorted.clone())),
            ),
            (
                "source changed",
                Some(&both),
                Some(enabled(&[cost.clone(), attribute("Team", "${path:title}")])),
                Step::Change(AttributeChange::Update(sorted)),
            ),
        ];
        for (name, spec, held, expected) in cases {
            let facts = Facts { arn: "arn", held: held.as_ref(), generation: 2, sent_for: Some(1), recorded: None };
            assert_eq!(next(spec, &facts), expected, "{name}");
        }
    }

    #[test]
    fn creation_is_waited_for_and_a_failure_stalls_the_generation_that_asked() {
        let cost = [attribute("CostCenter", "${path:enterprise.costCenter}")];
        let cases = [
            (AttributesStatus::CreationInProgress, Some(2), Some(Reason::Updating), None),
            (AttributesStatus::Other("PAUSED".into()), Some(2), Some(Reason::UnknownState), None),
            (AttributesStatus::CreationFailed, Some(2), Some(Reason::AccessControlAttributesFailed), None),
            (AttributesStatus::CreationFailed, Some(1), None, Some(AttributeChange::Delete)),
            (AttributesStatus::CreationFailed, None, None, Some(AttributeChange::Delete)),
        ];
        for (status, sent_for, reason, change) in cases {
            let held = held(status.clone(), &cost);
            let facts = Facts { arn: "arn", held: Some(&held), generation: 2, sent_for, recorded: None };
            let step = next(Some(&cost), &facts);
            assert_eq!(outcome_reason(&step), reason, "{status:?} sent for {sent_for:?}");
            if let Some(change) = change {
                assert_eq!(step, Step::Change(change), "{status:?} sent for {sent_for:?}");
            }
            if let Step::Stalled(outcome) = &step {
                assert!(
                    outcome.message().contains("the identity source has no such attribute"),
                    "AWS's reason verbatim"
                );
            }
        }
    }

    #[test]
    fn an_update_not_shown_yet_waits_and_drift_from_what_was_seen_is_put_back() {
        let cost = vec![attribute("CostCenter", "${path:enterprise.costCenter}")];
        let old = held(AttributesStatus::Enabled, &[attribute("Old", "${path:title}")]);
        let seen = ObservedAccessControlAttributes {
            status: Some("ENABLED".into()),
            attributes: cost.clone(),
            ..Default::default()
        };
        let cases = [
            ("sent for this spec, not shown yet", Some(2), None, false),
            ("sent for this spec, seen in place since: drift", Some(2), Some(&seen), true),
            ("sent for an older spec", Some(1), None, true),
        ];
        for (name, sent_for, recorded, update) in cases {
            let facts = Facts { arn: "arn", held: Some(&old), generation: 2, sent_for, recorded };
            let step = next(Some(&cost), &facts);
            assert_eq!(matches!(step, Step::Change(AttributeChange::Update(_))), update, "{name}: {step:?}");
        }
    }
}
