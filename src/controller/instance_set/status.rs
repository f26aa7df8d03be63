//! The set's status: counts, the rollout's position, failures and the
//! Ready, Synced and Stalled conditions, from the plan and the last read.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::decide::Tally;
use crate::api::{IdentityCenterInstanceSet, IdentityCenterInstanceSetStatus, RolloutStatus};
use crate::controller::conditions::{Outcome, Reason, next_conditions};
use crate::controller::errors::{Classified, Handling, Retry, classify};
use crate::sso::{ErrorKind, SsoError, not_in_use};

/// At most this many failures are listed in the status; failedInstances counts them all.
pub const LISTED_FAILURES: usize = 20;

/// A failed read of the OUs, as the set's conditions show it.
pub fn classify_read(error: &SsoError) -> Classified {
    let detail = format!(
        "{} answered {}: {}",
        error.operation,
        error.kind,
        crate::controller::errors::without_principals(&error.message)
    );
    let terminal = |reason, advice: &str| Classified {
        reason,
        retry: Retry::Never,
        message: format!("{advice} Read again at the next read interval. ({detail})"),
    };
    match &error.kind {
        ErrorKind::AccessDenied => terminal(
            Reason::OrganizationsAccessDenied,
            "AWS Organizations refused to list the OUs: spec.organization.credentials must name a role in the \
             organization's management account or in a delegated administrator account, allowed \
             organizations:ListAccountsForParent and organizations:ListOrganizationalUnitsForParent (deploy/iam/).",
        ),
        _ if not_in_use(error) => terminal(
            Reason::OrganizationsNotInUse,
            "The account of spec.organization.credentials is in no AWS organization.",
        ),
        ErrorKind::ResourceNotFound => terminal(
            Reason::OrganizationalUnitNotFound,
            "An OU or root of spec.organization.organizationalUnits does not exist in the organization.",
        ),
        _ => match classify(error) {
            Handling::Report(classified) => classified,
            // Fenced, deferred or refused: nothing was asked of AWS; say so, and look again soon.
            Handling::Fenced | Handling::Deferred(_) | Handling::Refused(_) => Classified {
                reason: Reason::AwsError,
                retry: Retry::Backoff {
                    base: std::time::Duration::from_secs(5),
                    cap: std::time::Duration::from_secs(60),
                },
                message: detail,
            },
        },
    }
}

/// Where the set stands, before the conditions are written.
pub enum Standing<'a> {
    /// Tenancy refused the set's Organizations role.
    Refused(String),
    /// No read of the OUs has worked yet.
    NotRead(Option<&'a Classified>),
    /// The OUs were read (the last attempt may have failed: `read_failure`).
    Read { tally: &'a Tally, complete: bool, read_failure: Option<&'a Classified> },
}

/// The outcome that the three conditions stand for.
pub fn outcome(standing: &Standing) -> Outcome {
    let failure_outcome = |failure: &Classified| match failure.retry {
        Retry::Never => Outcome::Stalled { reason: failure.reason, message: failure.message.clone() },
        Retry::Backoff { .. } => Outcome::Retrying { reason: failure.reason, message: failure.message.clone() },
    };
    match standing {
        Standing::Refused(message) => Outcome::Stalled { reason: Reason::NotPermitted, message: message.clone() },
        Standing::NotRead(Some(failure)) => failure_outcome(failure),
        Standing::NotRead(None) => Outcome::Progressing {
            reason: Reason::ReadingOrganization,
            message: "Reading the OUs from AWS Organizations".into(),
        },
        Standing::Read { tally, .. } if tally.stopped => Outcome::Stalled {
            reason: Reason::FailureToleranceExceeded,
            message: format!(
                "{} children failed, more than spec.rollout.failureTolerance ({}): no child is created or changed \
                 until the template changes or the failures are mended. {}",
                tally.failed,
                tally.tolerance,
                failure_summary(tally)
            ),
        },
        Standing::Read { read_failure: Some(failure), .. } => failure_outcome(failure),
        Standing::Read { tally, complete: true, .. } => Outcome::Ready {
            reason: Reason::AllInstancesReady,
            message: format!("{} of {} accounts have a Ready instance", tally.ready, tally.accounts),
        },
        Standing::Read { tally, .. } if tally.failed > 0 && tally.progressing == 0 => Outcome::Progressing {
            reason: Reason::InstancesFailed,
            message: format!(
                "{} of {} accounts have a Ready instance; {} failed, within the tolerance. {}",
                tally.ready,
                tally.accounts,
                tally.failed,
                failure_summary(tally)
            ),
        },
        Standing::Read { tally, .. } => Outcome::Progressing {
            reason: Reason::RollingOut,
            message: format!(
                "{} of {} accounts have a Ready instance; {} in progress, {} failed",
                tally.ready, tally.accounts, tally.progressing, tally.failed
            ),
        },
    }
}

/// The first failures, by account, for a condition message.
fn failure_summary(tally: &Tally) -> String {
    let listed: Vec<String> =
        tally.failures.iter().take(3).map(|f| format!("{}: {} ({})", f.account_id, f.reason, f.message)).collect();
    let more = tally.failures.len().saturating_sub(3);
    let more = if more > 0 { format!("; {more} more in status.failures") } else { String::new() };
    format!("Failed: {}{more}.", listed.join("; "))
}

/// What a reconcile knows when it writes the status.
pub struct Report<'a> {
    pub standing: Standing<'a>,
    pub hash: &'a str,
    pub last_read_at: Option<Time>,
    pub handled_request: Option<String>,
}

/// The status to write, given the previous one.
pub fn next_status(
    set: &IdentityCenterInstanceSet,
    report: &Report,
    now: Timestamp,
) -> IdentityCenterInstanceSetStatus {
    let previous = set.status.clone().unwrap_or_default();
    let generation = set.metadata.generation.unwrap_or_default();
    let outcome = outcome(&report.standing);
    let conditions = next_conditions(&previous.conditions, &outcome, generation, now);
    let mut status = IdentityCenterInstanceSetStatus {
        conditions,
        observed_generation: Some(generation),
        last_read_at: report.last_read_at.clone().or(previous.last_read_at.clone()),
        last_handled_reconcile_at: report.handled_request.clone().or(previous.last_handled_reconcile_at.clone()),
        ..previous
    };
    if let Standing::Read { tally, .. } = &report.standing {
        status.accounts = Some(tally.accounts);
        status.ready_instances = tally.ready;
        status.progressing_instances = tally.progressing;
        status.failed_instances = tally.failed;
        status.failures = tally.failures.iter().take(LISTED_FAILURES).cloned().collect();
        status.rollout = Some(RolloutStatus {
            template_hash: report.hash.to_string(),
            updated: tally.updated,
            total: tally.accounts,
        });
    }
    status
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::AccountFailure;
    use crate::controller::conditions::{READY, STALLED, SYNCED};

    fn set() -> IdentityCenterInstanceSet {
        serde_json::from_value(json!({
            "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstanceSet",
            "metadata": {"name": "s", "namespace": "n", "generation": 4},
            "spec": {
                "organization": {"organizationalUnits": ["ou-abcd-11111111"]},
                "accountCredentials": {"roleArnTemplate": "arn:aws:iam::{accountId}:role/admin"},
                "template": {},
            },
        }))
        .unwrap()
    }

    fn tally(ready: u32, progressing: u32, failed: u32, stopped: bool) -> Tally {
        let failures = (0..failed)
            .map(|i| AccountFailure {
                account_id: format!("{i:012}"),
                reason: "NotPermitted".into(),
                message: "m".into(),
            })
            .collect();
        let accounts = ready + progressing + failed;
        Tally { accounts, ready, progressing, failed, updated: ready, failures, stopped, tolerance: 0 }
    }

    fn conditions(standing: Standing) -> [(String, String); 3] {
        let report = Report { standing, hash: "h", last_read_at: None, handled_request: None };
        let status = next_status(&set(), &report, Timestamp::from_second(1).unwrap());
        [READY, SYNCED, STALLED].map(|type_| {
            let c = status.conditions.iter().find(|c| c.type_ == type_).unwrap();
            (c.status.clone(), c.reason.clone())
        })
    }

    fn pair(status: &str, reason: &str) -> (String, String) {
        (status.into(), reason.into())
    }

    #[test]
    fn the_conditions_say_ready_rolling_out_failed_or_stalled() {
        let throttled = classify_read(&SsoError::new("ListAccountsForParent", ErrorKind::Throttling, "slow down"));
        let denied = classify_read(&SsoError::new("ListAccountsForParent", ErrorKind::AccessDenied, "no"));
        let cases = [
            (Standing::Refused("no grant".into()), ["False", "False", "True"], "NotPermitted"),
            (Standing::NotRead(None), ["False", "True", "False"], "ReadingOrganization"),
            (Standing::NotRead(Some(&denied)), ["False", "False", "True"], "OrganizationsAccessDenied"),
            (Standing::NotRead(Some(&throttled)), ["False", "False", "False"], "Throttled"),
        ];
        for (standing, want, reason) in cases {
            let got = conditions(standing);
            let statuses = [got[0].0.as_str(), got[1].0.as_str(), got[2].0.as_str()];
            assert_eq!(statuses, want, "{reason}");
            assert!(got.iter().any(|(_, r)| r == reason), "{reason}: {got:?}");
        }
        let all_ready = tally(3, 0, 0, false);
        let got = conditions(Standing::Read { tally: &all_ready, complete: true, read_failure: None });
        assert_eq!(got[0], pair("True", "AllInstancesReady"));
        let rolling = tally(1, 2, 0, false);
        assert_eq!(
            conditions(Standing::Read { tally: &rolling, complete: false, read_failure: None })[0],
            pair("False", "RollingOut")
        );
        let tolerated = tally(2, 0, 1, false);
        let got = conditions(Standing::Read { tally: &tolerated, complete: false, read_failure: None });
        assert_eq!((got[0].clone(), got[2].clone()), (pair("False", "InstancesFailed"), pair("False", "NotStalled")));
        let stopped = tally(1, 1, 2, true);
        let got = conditions(Standing::Read { tally: &stopped, complete: false, read_failure: None });
        assert_eq!(got[2], pair("True", "FailureToleranceExceeded"));
        let got = conditions(Standing::Read { tally: &all_ready, complete: true, read_failure: Some(&throttled) });
        assert_eq!((got[0].clone(), got[1].clone()), (pair("False", "Throttled"), pair("False", "Throttled")));
    }

    #[test]
    fn a_stalled_message_names_the_failed_accounts_and_the_status_lists_at_most_twenty() {
        let many = tally(0, 0, 25, true);
        let message = match outcome(&Standing::Read { tally: &many, complete: false, read_failure: None }) {
            Outcome::Stalled { message, .. } => message,
            other => panic!("{other:?}"),
        };
        assert!(message.contains("000000000000: NotPermitted (m)"), "{message}");
        assert!(message.contains("22 more in status.failures"), "{message}");
        let report = Report {
            standing: Standing::Read { tally: &many, complete: false, read_failure: None },
            hash: "h",
            last_read_at: None,
            handled_request: None,
        };
        let status = next_status(&set(), &report, Timestamp::from_second(1).unwrap());
        assert_eq!((status.failed_instances, status.failures.len()), (25, LISTED_FAILURES));
        assert_eq!(status.rollout.unwrap().template_hash, "h");
    }
}
