//! The Ready, Synced and Stalled conditions, in metav1.Condition form and by
//! the kstatus rules: lastTransitionTime moves only when a status changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

pub use super::reasons::Reason;

pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";
pub const STALLED: &str = "Stalled";

/// Where a reconcile left the object, which decides the three conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// ACTIVE, and the spec is applied.
    Ready { reason: Reason, message: String },
    /// Waiting on AWS (creation, deletion) with nothing wrong.
    Progressing { reason: Reason, message: String },
    /// A recoverable error; the operator retries with backoff.
    Retrying { reason: Reason, message: String },
    /// Terminal until the spec (or something outside) changes.
    Stalled { reason: Reason, message: String },
    /// `identitycenter.dev/paused`: nothing was asked of AWS, nothing is wrong.
    Paused { message: String },
}

impl Outcome {
    pub fn reason(&self) -> Reason {
        match self {
            Self::Ready { reason, .. }
            | Self::Progressing { reason, .. }
            | Self::Retrying { reason, .. }
            | Self::Stalled { reason, .. } => *reason,
            // The reason of a paused object's Synced condition, as Crossplane names it.
            Self::Paused { .. } => Reason::ReconcilePaused,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Ready { message, .. }
            | Self::Progressing { message, .. }
            | Self::Retrying { message, .. }
            | Self::Stalled { message, .. }
            | Self::Paused { message } => message,
        }
    }
}

fn condition(type_: &str, status: bool, reason: Reason, message: &str, generation: i64, now: Timestamp) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation: Some(generation),
        last_transition_time: Time(now),
    }
}

/// The three conditions that `outcome` stands for, stamped `now`.
fn conditions_for(outcome: &Outcome, generation: i64, now: Timestamp) -> Vec<Condition> {
    let (reason, message) = (outcome.reason(), outcome.message());
    let (ready, synced, stalled) = match outcome {
        Outcome::Ready { .. } => (true, true, false),
        Outcome::Progressing { .. } => (false, true, false),
        Outcome::Retrying { .. } | Outcome::Paused { .. } => (false, false, false),
        Outcome::Stalled { .. } => (false, false, true),
    };
    let synced_reason = if synced { Reason::ReconcileSucceeded } else { reason };
    let synced_message = if synced { "The last reconcile reached AWS and applied the spec" } else { message };
    let (stalled_reason, stalled_message) = if stalled { (reason, message) } else { (Reason::NotStalled, "") };
    vec![
        condition(READY, ready, reason, message, generation, now),
        condition(SYNCED, synced, synced_reason, synced_message, generation, now),
        condition(STALLED, stalled, stalled_reason, stalled_message, generation, now),
    ]
}

/// Keeps each previous lastTransitionTime whose condition kept its status.
fn carry_transition_times(previous: &[Condition], mut next: Vec<Condition>) -> Vec<Condition> {
    for condition in &mut next {
        if let Some(old) = previous.iter().find(|old| old.type_ == condition.type_)
            && old.status == condition.status
        {
            condition.last_transition_time = old.last_transition_time.clone();
        }
    }
    next
}

/// The conditions after a reconcile that ended in `outcome`, given the
/// previous ones. A transient error, or a pause, does not make an instance
/// that was Ready for this same spec unready: it shows in Synced only, so
/// `kubectl wait` and Argo CD do not flap while AWS throttles a resync.
pub fn next_conditions(previous: &[Condition], outcome: &Outcome, generation: i64, now: Timestamp) -> Vec<Condition> {
    let mut next = conditions_for(outcome, generation, now);
    if matches!(outcome, Outcome::Retrying { .. } | Outcome::Paused { .. }) {
        let ready_for_this_spec = previous
            .iter()
            .find(|c| c.type_ == READY && c.status == "True" && c.observed_generation == Some(generation));
        if let (Some(kept), Some(slot)) = (ready_for_this_spec, next.iter_mut().find(|c| c.type_ == READY)) {
            *slot = kept.clone();
        }
    }
    carry_transition_times(previous, next)
}

/// The condition that carries an outcome's reason.
fn carrier(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Ready { .. } | Outcome::Progressing { .. } => READY,
        Outcome::Retrying { .. } | Outcome::Paused { .. } => SYNCED,
        Outcome::Stalled { .. } => STALLED,
    }
}

/// The event that reports moving from `previous` to `next` conditions, if
/// that is a transition: (warning, reason, note).
pub fn transition_event(
    previous: &[Condition],
    next: &[Condition],
    outcome: &Outcome,
) -> Option<(bool, Reason, String)> {
    let type_ = carrier(outcome);
    let state = |conditions: &[Condition]| {
        conditions.iter().find(|c| c.type_ == type_).map(|c| (c.status.clone(), c.reason.clone()))
    };
    let warning = matches!(outcome, Outcome::Retrying { .. } | Outcome::Stalled { .. });
    (state(previous) != state(next)).then(|| (warning, outcome.reason(), outcome.message().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn status_of<'a>(conditions: &'a [Condition], type_: &str) -> (&'a str, &'a str) {
        let c = conditions.iter().find(|c| c.type_ == type_).unwrap();
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn each_outcome_sets_ready_synced_and_stalled() {
        let msg = String::new;
        let cases = [
            (
                Outcome::Ready { reason: Reason::InstanceActive, message: msg() },
                ("True", "True", "False"),
                "InstanceActive",
            ),
            (Outcome::Progressing { reason: Reason::Creating, message: msg() }, ("False", "True", "False"), "Creating"),
            (Outcome::Retrying { reason: Reason::Throttled, message: msg() }, ("False", "False", "False"), "Throttled"),
            (
                Outcome::Stalled { reason: Reason::CreateFailed, message: msg() },
                ("False", "False", "True"),
                "CreateFailed",
            ),
            (Outcome::Paused { message: msg() }, ("False", "False", "False"), "ReconcilePaused"),
        ];
        for (outcome, (ready, synced, stalled), reason) in cases {
            let got = conditions_for(&outcome, 7, at(1));
            assert_eq!(status_of(&got, READY), (ready, reason), "{outcome:?}");
            assert_eq!(status_of(&got, SYNCED).0, synced, "{outcome:?}");
            assert_eq!(status_of(&got, STALLED).0, stalled, "{outcome:?}");
            assert!(got.iter().all(|c| c.observed_generation == Some(7)));
        }
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let creating = Outcome::Progressing { reason: Reason::Creating, message: "waiting".into() };
        let first = conditions_for(&creating, 1, at(100));
        let still_creating = Outcome::Progressing { reason: Reason::Creating, message: "still waiting".into() };
        let second = carry_transition_times(&first, conditions_for(&still_creating, 2, at(200)));
        assert!(second.iter().all(|c| c.last_transition_time.0 == at(100)), "no status changed");

        let ready = Outcome::Ready { reason: Reason::InstanceActive, message: String::new() };
        let third = carry_transition_times(&second, conditions_for(&ready, 2, at(300)));
        let time_of = |t: &str| third.iter().find(|c| c.type_ == t).unwrap().last_transition_time.0;
        assert_eq!(time_of(READY), at(300), "Ready went False -> True");
        assert_eq!(time_of(SYNCED), at(100), "Synced stayed True");
        assert_eq!(time_of(STALLED), at(100), "Stalled stayed False");
    }
    #[test]
    fn events_mark_transitions_not_repeats() {
        let creating = Outcome::Progressing { reason: Reason::Creating, message: "m".into() };
        let ready = Outcome::Ready { reason: Reason::InstanceActive, message: "m".into() };
        let throttled = Outcome::Retrying { reason: Reason::Throttled, message: "m".into() };
        let failed = Outcome::Stalled { reason: Reason::CreateFailed, message: "m".into() };
        let after = |previous: &[Condition], o: &Outcome| next_conditions(previous, o, 1, at(1));
        let ready_conditions = after(&[], &ready);
        let throttled_while_ready = after(&ready_conditions, &throttled);
        let cases = [
            ("first reconcile", vec![], &creating, Some((false, Reason::Creating))),
            ("still creating", after(&[], &creating), &creating, None),
            ("became ready", after(&[], &creating), &ready, Some((false, Reason::InstanceActive))),
            ("still ready", ready_conditions.clone(), &ready, None),
            ("error while ready", ready_conditions.clone(), &throttled, Some((true, Reason::Throttled))),
            ("same error again", throttled_while_ready.clone(), &throttled, None),
            ("error turned terminal", after(&[], &throttled), &failed, Some((true, Reason::CreateFailed))),
            ("recovered from the error", throttled_while_ready, &ready, None),
        ];
        for (name, previous, outcome, want) in cases {
            let next = after(&previous, outcome);
            let got = transition_event(&previous, &next, outcome).map(|(warning, reason, _)| (warning, reason));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn a_transient_error_keeps_ready_for_the_same_spec_only() {
        let ready = Outcome::Ready { reason: Reason::InstanceActive, message: "m".into() };
        let throttled = Outcome::Retrying { reason: Reason::Throttled, message: "m".into() };
        let was_ready = next_conditions(&[], &ready, 3, at(1));
        let same_spec = next_conditions(&was_ready, &throttled, 3, at(2));
        assert_eq!(status_of(&same_spec, READY), ("True", "InstanceActive"));
        assert_eq!(status_of(&same_spec, SYNCED), ("False", "Throttled"));
        let new_spec = next_conditions(&was_ready, &throttled, 4, at(2));
        assert_eq!(status_of(&new_spec, READY), ("False", "Throttled"), "a new spec is not known to be applied");
    }

    #[test]
    fn a_pause_keeps_ready_reports_synced_false_and_is_no_warning() {
        let ready = Outcome::Ready { reason: Reason::InstanceActive, message: "m".into() };
        let paused = Outcome::Paused { message: "paused".into() };
        let was_ready = next_conditions(&[], &ready, 3, at(1));
        let now = next_conditions(&was_ready, &paused, 3, at(2));
        assert_eq!(status_of(&now, READY), ("True", "InstanceActive"));
        assert_eq!(status_of(&now, SYNCED), ("False", "ReconcilePaused"));
        assert_eq!(status_of(&now, STALLED), ("False", "NotStalled"), "kstatus must not call it failed");
        assert_eq!(
            transition_event(&was_ready, &now, &paused).map(|(w, r, _)| (w, r)),
            Some((false, Reason::ReconcilePaused))
        );
    }
}
