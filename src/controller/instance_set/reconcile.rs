//! One reconcile of a set: tenancy for its Organizations role, a read of
//! its OUs when one is due, then its children written at the rollout's
//! pace, and its status.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::events::{EventType, Recorder};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use super::children::SetWrites;
use super::decide::{self, Child, Departure, Health, Plan, Wanted};
use super::read::{OrganizationRead, read_organization};
use super::render::{render, template_hash};
use super::status::{Report, Standing, classify_read, next_status};
use crate::api::{
    ACCOUNT_LABEL, AccountFailure, IdentityCenterInstance, IdentityCenterInstanceSet, IdentityCenterInstanceSpec,
    OrganizationSource, PAUSED, RECONCILE_REQUESTED_AT, SET_LABEL, TEMPLATE_HASH,
};
use crate::controller::conditions::{Outcome, READY, STALLED, next_conditions, transition_event};
use crate::controller::errors::{Classified, Retry, backoff_delay};
use crate::controller::tenancy::{Decision, LIST_WAIT, REFUSED_RECHECK};
use crate::controller::{Context, Error, Next, Watched};
use crate::sso::{Principal, Requester, RoleRef};

/// How many children are written at once.
const WRITES_AT_ONCE: usize = 16;
/// How soon to look again after a write the API server turned down as stale.
const STALE_RETRY: Duration = Duration::from_secs(2);
/// How often a change of the counts alone is written to the set's status.
const COUNTS_PERIOD: Duration = Duration::from_secs(2);

/// What the set controller keeps besides the shared context.
pub struct SetContext {
    pub shared: Arc<Context>,
    /// Each set's last read of its OUs, by UID.
    reads: Mutex<HashMap<String, LastRead>>,
    /// When each set's status was last written, by UID.
    status_written: Mutex<HashMap<String, Instant>>,
}

impl SetContext {
    pub fn new(shared: Arc<Context>) -> Self {
        Self { shared, reads: Mutex::default(), status_written: Mutex::default() }
    }

    /// Everything kept for the set `uid`, which is gone (or paused, or refused).
    pub(super) fn forget(&self, uid: &str) {
        self.shared.forget(uid);
        self.reads.lock().expect("never poisoned").remove(uid);
        self.status_written.lock().expect("never poisoned").remove(uid);
        if self.shared.tenancy.organization().forget(uid) {
            self.shared.tenancy.organization_changed();
        }
    }
}

/// A set's last read of its OUs.
#[derive(Clone)]
struct LastRead {
    /// What the last read that worked found; None before any did.
    found: Option<Arc<OrganizationRead>>,
    /// When that read was made.
    found_at: Option<Time>,
    /// The spec.organization it was made for: another one reads again at once.
    source: OrganizationSource,
    /// Why the last attempt failed, if it did.
    failure: Option<Classified>,
    failures_in_row: u32,
    /// When the next read is due.
    next_read: Instant,
    /// The accounts of the successful read before `found`: an account
    /// missing from one read is let go only once the read before it missed
    /// it too (an account moved between two OUs during a walk is in neither).
    before: Option<Arc<BTreeSet<String>>>,
    /// The identitycenter.dev/reconcile-requested-at value the last read served.
    served_request: Option<String>,
}

/// The longest read interval: a longer one is read at this pace (and a
/// huge one cannot overflow the clock).
const LONGEST_READ_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);

fn read_interval(set: &IdentityCenterInstanceSet) -> Duration {
    let interval = humantime::parse_duration(&set.spec.read_interval).unwrap_or(Duration::from_secs(600));
    interval.clamp(Duration::from_secs(1), LONGEST_READ_INTERVAL)
}

pub async fn reconcile(set: Arc<IdentityCenterInstanceSet>, ctx: Arc<SetContext>) -> Result<Action, Error> {
    let next = reconcile_set(&set, &ctx).await?;
    ctx.shared.record_success(&set.uid().unwrap_or_default());
    Ok(Action::from(next))
}

impl SetContext {
    /// The sets of one watch that its relist no longer shows are gone: a
    /// watch that was down meanwhile saw no Delete event for them.
    pub(super) fn forget_all_but(&self, present: &[String]) {
        let known: Vec<String> = self.reads.lock().expect("never poisoned").keys().cloned().collect();
        for uid in known.iter().filter(|uid| !present.contains(uid)) {
            self.forget(uid);
        }
    }
}

async fn reconcile_set(set: &IdentityCenterInstanceSet, ctx: &SetContext) -> Result<Next, Error> {
    let uid = set.uid().unwrap_or_default();
    if set.meta().deletion_timestamp.is_some() {
        // The garbage collector deletes the children, each under its own deletionPolicy.
        ctx.forget(&uid);
        return Ok(Next::on_change());
    }
    let hash = template_hash(set);
    let recorder = Recorder::new(ctx.shared.client.clone(), ctx.shared.reporter.clone());
    let writes = SetWrites::new(ctx.shared.client.clone(), recorder, set.clone(), hash.clone());
    if set.annotations().get(PAUSED).is_some_and(|v| v == "true") {
        // A paused set's last read ages: no grant by OU goes on using it.
        ctx.forget(&uid);
        let message = format!("{PAUSED} is \"true\": the set neither reads AWS Organizations nor writes its children");
        write_outcome(set, &writes, Outcome::Paused { message }).await?;
        return Ok(Next::on_change());
    }
    let namespace = set.namespace().unwrap_or_default();
    let principal = match ctx
        .shared
        .tenancy
        .decide_organization_reads(&namespace, set.spec.organization.credentials.as_ref())
    {
        Decision::NotYetKnown => return Ok(Next::after(LIST_WAIT)),
        Decision::Refused(message) => {
            ctx.forget(&uid);
            let report =
                Report { standing: Standing::Refused(message), hash: &hash, last_read_at: None, handled_request: None };
            write_status(set, ctx, &writes, &report).await?;
            return Ok(Next::after(REFUSED_RECHECK));
        }
        Decision::Act(role) => role.map_or(Principal::Operator, |credentials| {
            let requester = Requester { namespace: namespace.clone(), name: set.name_any() };
            Principal::Role(RoleRef {
                on_behalf_of: Some(requester),
                ..RoleRef::new(&credentials.role_arn, credentials.external_id.clone())
            })
        }),
    };

    let requested = set.annotations().get(RECONCILE_REQUESTED_AT).cloned();
    let handled = set.status.as_ref().and_then(|s| s.last_handled_reconcile_at.clone());
    let last = ctx.reads.lock().expect("never poisoned").get(&uid).cloned();
    // A request the status already shows, or a read of this process served, is not asked again.
    let asked = |last: &LastRead| requested.is_some() && requested != handled && requested != last.served_request;
    let due = match &last {
        None => true,
        Some(last) => last.source != set.spec.organization || Instant::now() >= last.next_read || asked(last),
    };
    let last = match (due, last) {
        (false, Some(last)) => last,
        (_, previous) => read(set, ctx, &principal, previous, requested.clone(), &writes).await,
    };
    let handled_request = last.served_request.clone().filter(|served| Some(served) != handled.as_ref());

    let Some(found) = last.found.clone() else {
        let report = Report {
            standing: Standing::NotRead(last.failure.as_ref()),
            hash: &hash,
            last_read_at: None,
            handled_request,
        };
        let deferred = write_status(set, ctx, &writes, &report).await?;
        let until_read = last.next_read.saturating_duration_since(Instant::now());
        return Ok(Next::after(deferred.map_or(until_read, |d| d.min(until_read))));
    };

    let cached = children_of(set, &ctx.shared.instances.children_of(&ObjectRef::from_obj(set)));
    let children: Vec<Child> = cached.values().filter_map(|watched| object(watched)).map(seen).collect();
    let accounts: BTreeMap<String, crate::sso::Account> =
        found.accounts.iter().map(|(id, f)| (id.clone(), f.account.clone())).collect();
    let mut membership = decide::membership(&set.spec, accounts.values().cloned());
    membership.kept.extend(decide::unconfirmed_departures(&children, &accounts, last.before.as_deref()));
    let wanted: Vec<Wanted> = membership
        .wanted
        .into_iter()
        .map(|account| {
            let spec = render(&set.spec, &account).map_err(|e| e.to_string());
            Wanted { account, spec }
        })
        .collect();
    let mut plan = decide::plan(&set.spec, &wanted, &membership.kept, &accounts, &children, &hash);
    let (stale, refused) = act(&plan, &cached, &writes).await;
    plan.tally.failures.extend(refused);
    plan.tally.failures.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    plan.tally.failed = plan.tally.failures.len() as u32;
    announce(&plan, &writes).await;

    let complete = plan.tally.complete(plan.is_empty());
    let standing = Standing::Read { tally: &plan.tally, complete, read_failure: last.failure.as_ref() };
    let report = Report { standing, hash: &hash, last_read_at: last.found_at.clone(), handled_request };
    let deferred = write_status(set, ctx, &writes, &report).await?;
    let mut next = last.next_read.saturating_duration_since(Instant::now());
    for soon in [stale.then_some(STALE_RETRY), deferred].into_iter().flatten() {
        next = next.min(soon);
    }
    Ok(Next::after(next))
}

/// Reads the set's OUs, keeps what was found (or why not), and tells of
/// the accounts that joined and left since the last read.
async fn read(
    set: &IdentityCenterInstanceSet,
    ctx: &SetContext,
    principal: &Principal,
    previous: Option<LastRead>,
    request: Option<String>,
    writes: &SetWrites,
) -> LastRead {
    let uid = set.uid().unwrap_or_default();
    let view = ctx.shared.tenancy.organization();
    let source = set.spec.organization.clone();
    let result = read_organization(ctx.shared.organizations.as_ref(), principal, &source).await;
    let same_source = previous.as_ref().is_some_and(|p| p.source == source);
    let last = match result {
        Ok(read) => {
            if view.record(&uid, read.units_of_accounts()) {
                ctx.shared.tenancy.organization_changed();
            }
            let before = previous.as_ref().filter(|_| same_source).and_then(|p| p.found.clone());
            announce_membership(before.as_deref(), &read, writes).await;
            let before = before.map(|read| Arc::new(read.accounts.keys().cloned().collect()));
            LastRead {
                found: Some(Arc::new(read)),
                found_at: Some(Time(Timestamp::now())),
                source,
                failure: None,
                failures_in_row: 0,
                next_read: Instant::now() + read_interval(set),
                before,
                served_request: request,
            }
        }
        Err(error) => {
            let classified = classify_read(&error);
            // Refused by Organizations: what this set read before can no
            // longer be vouched for, and no grant by OU may go on using it.
            // A transient failure keeps it until the next read.
            match classified.retry {
                Retry::Never if view.forget(&uid) => ctx.shared.tenancy.organization_changed(),
                _ => view.did_not_read(&uid),
            }
            tracing::warn!(set = %set.name_any(), %error, "reading the set's OUs failed");
            let failures_in_row = previous.as_ref().map_or(0, |p| p.failures_in_row) + 1;
            let wait = match classified.retry {
                Retry::Never => read_interval(set),
                retry => backoff_delay(retry, failures_in_row - 1, rand::random::<f64>()).unwrap_or(read_interval(set)),
            };
            let (found, found_at, before) = match previous.filter(|_| same_source) {
                Some(previous) => (previous.found, previous.found_at, previous.before),
                None => (None, None, None),
            };
            let next_read = Instant::now() + wait;
            let failure = Some(classified);
            LastRead { found, found_at, source, failure, failures_in_row, next_read, before, served_request: request }
        }
    };
    ctx.reads.lock().expect("never poisoned").insert(uid, last.clone());
    last
}

/// Events for the accounts that joined and left the OUs between two reads
/// (one event for the first read, however many accounts it found).
async fn announce_membership(before: Option<&OrganizationRead>, now: &OrganizationRead, writes: &SetWrites) {
    let Some(before) = before else {
        let note = format!("Read the OUs from AWS Organizations: {} accounts", now.accounts.len());
        writes.event(EventType::Normal, "ReadOrganization", "OrganizationRead", note).await;
        return;
    };
    let joined: Vec<&String> = now.accounts.keys().filter(|id| !before.accounts.contains_key(*id)).collect();
    let left: Vec<&String> = before.accounts.keys().filter(|id| !now.accounts.contains_key(*id)).collect();
    for (ids, reason, what) in [(joined, "AccountJoined", "joined"), (left, "AccountLeft", "left")] {
        if !ids.is_empty() {
            let note = format!("{} account(s) {what} the OUs: {}", ids.len(), listed(&ids));
            writes.event(EventType::Normal, "ReadOrganization", reason, note).await;
        }
    }
}

/// Up to ten IDs, and how many more.
fn listed(ids: &[&String]) -> String {
    let shown: Vec<&str> = ids.iter().take(10).map(|id| id.as_str()).collect();
    let more = ids.len().saturating_sub(10);
    if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

/// The set's children in the cache, by name: in its namespace, labelled
/// with its name and owned by its UID (an object that only claims the
/// label is not one).
fn children_of(set: &IdentityCenterInstanceSet, cached: &[Arc<Watched>]) -> Children {
    let (namespace, name, uid) = (set.namespace(), set.name_any(), set.uid());
    let ours = |child: &IdentityCenterInstance| {
        child.namespace() == namespace
            && child.labels().get(SET_LABEL) == Some(&name)
            && child
                .owner_references()
                .iter()
                .any(|owner| Some(&owner.uid) == uid.as_ref() && owner.controller == Some(true))
    };
    let cached = cached.iter().filter(|watched| watched.0.as_ref().is_ok_and(ours));
    cached.map(|watched| (watched.name_any(), watched.clone())).collect()
}

/// A set's children as the cache holds them (shared, not copied), by name.
type Children = BTreeMap<String, Arc<Watched>>;

/// The valid object of a cached child (`children_of` keeps no other).
fn object(watched: &Watched) -> Option<&IdentityCenterInstance> {
    watched.0.as_ref().ok()
}

/// What the plan needs of a cached child.
fn seen(child: &IdentityCenterInstance) -> Child {
    // A condition for an older spec says nothing of the current one (a child just rewritten).
    let condition = |type_| {
        child.condition(type_).filter(|c| c.status == "True" && c.observed_generation == child.metadata.generation)
    };
    let current = child.status.as_ref().and_then(|s| s.observed_generation) == child.metadata.generation;
    let health = match (condition(STALLED), condition(READY)) {
        (Some(stalled), _) => Health::Failed { reason: stalled.reason.clone(), message: stalled.message.clone() },
        (None, Some(_)) if current => Health::Ready,
        _ => Health::Progressing,
    };
    Child {
        name: child.name_any(),
        account_id: child.labels().get(ACCOUNT_LABEL).cloned().unwrap_or_default(),
        template_hash: child.annotations().get(TEMPLATE_HASH).cloned(),
        spec: child.spec.clone(),
        health,
        deleting: child.meta().deletion_timestamp.is_some(),
    }
}

/// One write of the plan, for one account.
enum Write {
    Create(String, IdentityCenterInstanceSpec),
    Rewrite(Box<IdentityCenterInstance>, IdentityCenterInstanceSpec),
    Release(Box<IdentityCenterInstance>, bool),
}

/// Makes the plan's writes, a few at once: whether one was turned down as
/// stale (the cache was behind), to look again soon, and the accounts whose
/// write the API server refused.
async fn act(plan: &Plan, cached: &Children, writes: &SetWrites) -> (bool, Vec<AccountFailure>) {
    let child = |name: &String| cached.get(name).and_then(|c| object(c)).map(|c| Box::new(c.clone()));
    let mut all: Vec<(String, Write)> = Vec::new();
    for release in &plan.release {
        if let Some(c) = child(&release.child) {
            all.push((release.account_id.clone(), Write::Release(c, release.retain)));
        }
    }
    for (name, spec) in plan.restore.iter().chain(&plan.update) {
        if let Some(c) = child(name) {
            let account = c.labels().get(ACCOUNT_LABEL).cloned().unwrap_or_default();
            all.push((account, Write::Rewrite(c, spec.clone())));
        }
    }
    for (account, spec) in &plan.create {
        all.push((account.id.clone(), Write::Create(account.id.clone(), spec.clone())));
    }
    let results: Vec<(String, Result<(), kube::Error>)> = futures::stream::iter(all)
        .map(|(account, write)| write_one(writes, account, write))
        .buffer_unordered(WRITES_AT_ONCE)
        .collect()
        .await;
    let (mut stale, mut failures) = (false, Vec::new());
    for (account, result) in results {
        match result {
            Ok(()) => {}
            // Already there (a create the cache had not shown) or changed since the cache saw it.
            Err(kube::Error::Api(status)) if status.code == 409 => stale = true,
            Err(error) => {
                tracing::warn!(%account, %error, "writing a set's child failed");
                let message = format!("the API server refused the child: {error}");
                failures.push(AccountFailure { account_id: account, reason: "ChildNotWritten".into(), message });
            }
        }
    }
    (stale, failures)
}

async fn write_one(writes: &SetWrites, account: String, write: Write) -> (String, Result<(), kube::Error>) {
    let result = match write {
        Write::Create(account_id, spec) => writes.create(&account_id, &spec).await,
        Write::Rewrite(child, spec) => writes.rewrite(&child, &spec).await,
        Write::Release(child, retain) => writes.release(&child, retain).await,
    };
    (account, result)
}

/// Events for the children created and let go.
async fn announce(plan: &Plan, writes: &SetWrites) {
    if !plan.create.is_empty() {
        let ids: Vec<&String> = plan.create.iter().map(|(a, _)| &a.id).collect();
        let note = format!("Created the instances of {} account(s): {}", ids.len(), listed(&ids));
        writes.event(EventType::Normal, "CreateChildren", "ChildrenCreated", note).await;
    }
    for release in &plan.release {
        let (reason, why) = match release.why {
            Departure::Left => ("AccountLeft", "left the set's OUs"),
            Departure::Suspended => ("AccountSuspended", "is suspended"),
            Departure::Closed => ("AccountClosed", "is closed"),
        };
        let fate = if release.retain {
            "its instance is retained in AWS"
        } else {
            "its child is deleted under its deletionPolicy"
        };
        let note = format!("Account {} {why}: {fate}", release.account_id);
        writes.event(EventType::Normal, "ReleaseChild", reason, note).await;
    }
}

/// Writes the status the report stands for, and an event for a transition
/// of the conditions. A change of the counts alone, within `COUNTS_PERIOD`
/// of the last write, waits: a rollout of thousands of children would
/// otherwise write the set's status with each of them. Returns how long
/// such a write waits.
async fn write_status(
    set: &IdentityCenterInstanceSet,
    ctx: &SetContext,
    writes: &SetWrites,
    report: &Report<'_>,
) -> Result<Option<Duration>, Error> {
    let status = next_status(set, report, Timestamp::now());
    let previous = set.status.clone().unwrap_or_default();
    if status == previous {
        return Ok(None);
    }
    let uid = set.uid().unwrap_or_default();
    let since_last = ctx.status_written.lock().expect("never poisoned").get(&uid).map(Instant::elapsed);
    if let Some(since_last) = since_last.filter(|_| same_conditions(&previous, &status))
        && since_last < COUNTS_PERIOD
    {
        return Ok(Some(COUNTS_PERIOD - since_last));
    }
    ctx.status_written.lock().expect("never poisoned").insert(uid, Instant::now());
    let outcome = super::status::outcome(&report.standing);
    if let Some((warning, reason, note)) = transition_event(&previous.conditions, &status.conditions, &outcome) {
        let type_ = if warning { EventType::Warning } else { EventType::Normal };
        writes.event(type_, "Reconcile", reason.as_str(), note).await;
    }
    writes.write_status(&status).await?;
    Ok(None)
}

/// Whether two statuses hold the same conditions (type, status, reason and
/// generation): what differs is counts and messages only.
fn same_conditions(
    previous: &crate::api::IdentityCenterInstanceSetStatus,
    next: &crate::api::IdentityCenterInstanceSetStatus,
) -> bool {
    let key = |status: &crate::api::IdentityCenterInstanceSetStatus| {
        let conditions = status.conditions.iter();
        conditions
            .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone(), c.observed_generation))
            .collect::<Vec<_>>()
    };
    key(previous) == key(next) && previous.observed_generation == next.observed_generation
}

/// Writes only the conditions that `outcome` stands for (a paused set).
async fn write_outcome(set: &IdentityCenterInstanceSet, writes: &SetWrites, outcome: Outcome) -> Result<(), Error> {
    let previous = set.status.clone().unwrap_or_default();
    let generation = set.metadata.generation.unwrap_or_default();
    let conditions = next_conditions(&previous.conditions, &outcome, generation, Timestamp::now());
    let status = crate::api::IdentityCenterInstanceSetStatus {
        conditions,
        observed_generation: Some(generation),
        ..previous.clone()
    };
    if status != previous {
        writes.write_status(&status).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

    use super::*;
    use crate::api::IdentityCenterInstanceStatus;
    use crate::fixtures::time;

    /// A child at generation 2 whose status says `type_` True for `observed`.
    fn child_with(type_: &str, observed: i64) -> IdentityCenterInstance {
        let condition = Condition {
            type_: type_.into(),
            status: "True".into(),
            reason: "CreateFailed".into(),
            message: "m".into(),
            observed_generation: Some(observed),
            last_transition_time: time("2026-12-07T10:00:00Z"),
        };
        let status = IdentityCenterInstanceStatus {
            observed_generation: Some(observed),
            conditions: vec![condition],
            ..IdentityCenterInstanceStatus::default()
        };
        IdentityCenterInstance::test().generation(2).with_status(status)
    }

    #[test]
    fn a_childs_conditions_count_only_for_its_current_spec() {
        let failed = Health::Failed { reason: "CreateFailed".into(), message: "m".into() };
        let cases = [
            ("Stalled for this spec", child_with("Stalled", 2), failed),
            ("Stalled for the spec before a rewrite", child_with("Stalled", 1), Health::Progressing),
            ("Ready for this spec", child_with("Ready", 2), Health::Ready),
            ("Ready for the spec before", child_with("Ready", 1), Health::Progressing),
        ];
        for (what, child, want) in cases {
            assert_eq!(seen(&child).health, want, "{what}");
        }
    }
}
