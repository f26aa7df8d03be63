//! What a set does next, as a pure function of its spec, the last read of
//! its OUs and its children: which children to create, change, put back
//! or let go, at the rollout's pace, and how the set stands.

use std::collections::BTreeMap;

use crate::api::{AccountFailure, AccountRemovalPolicy, IdentityCenterInstanceSetSpec, IdentityCenterInstanceSpec};
use crate::sso::{Account, AccountState};

/// How a child is doing, from its conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Ready, for its current spec.
    Ready,
    /// Being created or changed, or waiting on AWS.
    Progressing,
    /// Stalled: terminal until its spec changes (a refusal by tenancy included).
    Failed { reason: String, message: String },
}

/// What the set sees of one child, in the watch cache.
#[derive(Clone, Debug, PartialEq)]
pub struct Child {
    pub name: String,
    pub account_id: String,
    /// The digest of the template it was written from.
    pub template_hash: Option<String>,
    pub spec: IdentityCenterInstanceSpec,
    pub health: Health,
    /// Already being deleted: nothing more to do for it.
    pub deleting: bool,
}

/// An account that should have a child, and what its child should be.
#[derive(Clone, Debug, PartialEq)]
pub struct Wanted {
    pub account: Account,
    /// The rendered spec, or why the template cannot be rendered for this account.
    pub spec: Result<IdentityCenterInstanceSpec, String>,
}

/// A child to let go, and whether its instance stays in AWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub child: String,
    pub account_id: String,
    /// Set deletionPolicy Retain on the child before deleting it.
    pub retain: bool,
    pub why: Departure,
}

/// Why an account no longer gets an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Departure {
    /// Not under the OUs any more, or excluded.
    Left,
    Suspended,
    Closed,
}

/// The writes of one reconcile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Accounts to make a child for (rendered spec included).
    pub create: Vec<(Account, IdentityCenterInstanceSpec)>,
    /// Children to write from the current template, at the rollout's pace.
    pub update: Vec<(String, IdentityCenterInstanceSpec)>,
    /// Children edited by hand, put back to the template at once.
    pub restore: Vec<(String, IdentityCenterInstanceSpec)>,
    pub release: Vec<Release>,
    pub tally: Tally,
}

/// How the set stands, for its status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Accounts that should have an instance.
    pub accounts: u32,
    pub ready: u32,
    pub progressing: u32,
    pub failed: u32,
    /// Children written from the current template.
    pub updated: u32,
    /// Failed accounts, by account ID.
    pub failures: Vec<AccountFailure>,
    /// How many may fail (spec.rollout.failureTolerance).
    pub tolerance: u32,
    /// More failed than the rollout tolerates: no child is created or changed.
    pub stopped: bool,
}

impl Tally {
    /// Every wanted account has a Ready child from the current template, and nothing is left to let go.
    pub fn complete(&self, plan_is_empty: bool) -> bool {
        plan_is_empty && self.failed == 0 && self.ready == self.accounts
    }
}

/// What becomes of an account of the read: wanted, left as it is, or let go.
fn standing(spec: &IdentityCenterInstanceSetSpec, account: &Account) -> Result<bool, Departure> {
    let source = &spec.organization;
    let chosen = source.include_accounts.is_empty() || source.include_accounts.contains(&account.id);
    if !chosen || source.exclude_accounts.contains(&account.id) {
        return Err(Departure::Left);
    }
    match account.state {
        AccountState::Active => Ok(true),
        AccountState::Suspended => Err(Departure::Suspended),
        AccountState::PendingClosure | AccountState::Closed => Err(Departure::Closed),
        // Not yet usable, or a state this operator does not know: a child stays as it is, none is made.
        AccountState::PendingActivation | AccountState::Other(_) => Ok(false),
    }
}

/// The accounts of a read that should have a child, and those that must not.
pub struct Membership {
    pub wanted: Vec<Account>,
    /// Accounts whose child, if any, stays as it is.
    pub kept: Vec<String>,
}

pub fn membership(spec: &IdentityCenterInstanceSetSpec, accounts: impl IntoIterator<Item = Account>) -> Membership {
    let (mut wanted, mut kept) = (Vec::new(), Vec::new());
    for account in accounts {
        match standing(spec, &account) {
            Ok(true) => wanted.push(account),
            Ok(false) => kept.push(account.id),
            Err(_) => {}
        }
    }
    Membership { wanted, kept }
}

/// The accounts of children that the last read missed, but the read before
/// it (`before`; None: there was none in this process) did not: a walk of
/// the OUs takes time, and an account moved between two of them meanwhile
/// is in neither. Their children stay as they are until a second read
/// misses them too.
pub fn unconfirmed_departures(
    children: &[Child],
    read: &BTreeMap<String, Account>,
    before: Option<&std::collections::BTreeSet<String>>,
) -> Vec<String> {
    let missed = children.iter().map(|c| &c.account_id).filter(|account| !read.contains_key(*account));
    missed.filter(|account| before.is_none_or(|before| before.contains(*account))).cloned().collect()
}

/// Why a child's account left, given the read: absent or excluded is Left.
fn departure(spec: &IdentityCenterInstanceSetSpec, read: &BTreeMap<String, Account>, account_id: &str) -> Departure {
    read.get(account_id).and_then(|account| standing(spec, account).err()).unwrap_or(Departure::Left)
}

/// The plan for the set: `wanted` (the read's accounts that should have a
/// child, rendered), `kept` (accounts whose child stays as it is), `read`
/// (every account the read found), `children` and the current `hash`.
pub fn plan(
    spec: &IdentityCenterInstanceSetSpec,
    wanted: &[Wanted],
    kept: &[String],
    read: &BTreeMap<String, Account>,
    children: &[Child],
    hash: &str,
) -> Plan {
    let mut plan = Plan::default();
    let by_account: BTreeMap<&str, &Child> = children.iter().map(|c| (c.account_id.as_str(), c)).collect();
    let wanted_ids: BTreeMap<&str, &Wanted> = wanted.iter().map(|w| (w.account.id.as_str(), w)).collect();

    for child in children.iter().filter(|c| !c.deleting) {
        let id = child.account_id.as_str();
        if wanted_ids.contains_key(id) || kept.iter().any(|k| k == id) {
            continue;
        }
        let why = departure(spec, read, id);
        let retain = why == Departure::Closed || spec.account_removal_policy == AccountRemovalPolicy::Retain;
        plan.release.push(Release { child: child.name.clone(), account_id: id.to_string(), retain, why });
    }

    let tally = &mut plan.tally;
    tally.accounts = wanted.len() as u32;
    let mut in_flight = 0u32;
    // Accounts still to be written from the current template, in account order.
    let mut behind: Vec<(&Wanted, Option<&Child>)> = Vec::new();
    for want in wanted {
        let child = by_account.get(want.account.id.as_str()).copied();
        let spec_now = match &want.spec {
            Ok(spec) => spec,
            Err(message) => {
                tally.failures.push(failure(&want.account.id, "TemplateNotRenderable", message));
                continue;
            }
        };
        match child {
            Some(child) if child.template_hash.as_deref() == Some(hash) && !child.deleting => {
                tally.updated += 1;
                if &child.spec != spec_now {
                    plan.restore.push((child.name.clone(), spec_now.clone()));
                    in_flight += 1;
                    tally.progressing += 1;
                    continue;
                }
                match &child.health {
                    Health::Ready => tally.ready += 1,
                    Health::Progressing => {
                        in_flight += 1;
                        tally.progressing += 1;
                    }
                    Health::Failed { reason, message } => {
                        tally.failures.push(failure(&child.account_id, reason, message))
                    }
                }
            }
            // Being deleted (it left before, and came back): wait until it is gone.
            Some(child) if child.deleting => tally.progressing += 1,
            _ => behind.push((want, child)),
        }
    }
    tally.failed = tally.failures.len() as u32;
    tally.tolerance = spec.rollout.failure_tolerance;
    tally.stopped = tally.failed > tally.tolerance;
    let room = if tally.stopped { 0 } else { spec.rollout.max_concurrent.saturating_sub(in_flight) as usize };
    // A child that failed under an older template goes first: the new one may mend it.
    behind.sort_by_key(|(want, child)| {
        let failed = child.is_some_and(|c| matches!(c.health, Health::Failed { .. }));
        (!failed, want.account.id.clone())
    });
    for (index, (want, child)) in behind.into_iter().enumerate() {
        tally.progressing += 1;
        let Ok(spec_now) = &want.spec else { continue };
        if index >= room {
            continue;
        }
        match child {
            Some(child) => plan.update.push((child.name.clone(), spec_now.clone())),
            None => plan.create.push((want.account.clone(), spec_now.clone())),
        }
    }
    plan.tally.failures.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    plan
}

fn failure(account_id: &str, reason: &str, message: &str) -> AccountFailure {
    AccountFailure { account_id: account_id.into(), reason: reason.into(), message: message.into() }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.restore.is_empty() && self.release.is_empty()
    }
}

#[cfg(test)]
mod tests;
