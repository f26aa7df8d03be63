//! One reconcile of one object: ask `decide` what to do, do it, report it.
//! `apply` brings an object to its spec, `create` makes its instance exactly
//! once, `delete` applies the deletion policy.

mod apply;
mod create;
mod delete;

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::{EventType, Recorder};

use super::cluster::Cluster;
use super::decide::settled;
use super::observed;
use super::ownership::Maker;
use crate::api::{Credentials, IdentityCenterInstance, IdentityCenterInstanceStatus, PAUSED, RECONCILE_REQUESTED_AT};
use crate::controller::claims::key_of;
use crate::controller::conditions::{Outcome, Reason, next_conditions, transition_event};
use crate::controller::context::Context;
use crate::controller::errors::{Classified, Handling, Retry, backoff_delay, classify};
use crate::controller::fairness::OVER_SHARE_RETRY;
use crate::controller::next::{Error, Next};
use crate::controller::resync::CheckWindow;
use crate::controller::tenancy::{self, Decision};
use crate::controller::watched::Watched;
use crate::sso::{Instance, Principal, Requester, RoleRef, SsoError, Target, WriteGuard};

/// When a reconcile that the lease fence stopped is tried again.
const FENCED_RETRY: Duration = Duration::from_secs(5);

/// When to look at the object again, as a step decides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Requeue {
    After(Duration),
    /// At the next drift check, about one resync interval ahead, spread over time.
    Resync,
    OnChange,
}

/// How a reconcile ends. Every ending travels as `Ok(Ending)`; only a failed
/// call travels as `Err(Failure)`.
enum Ending {
    /// Write this outcome into the conditions, then look again as `Requeue` says.
    Report(Outcome, Requeue),
    /// The finalizer is removed: the object is gone, nothing more to write.
    Released,
    /// Nothing can be decided yet (the watch cache is catching up): look
    /// again after the delay, writing nothing.
    Defer(Duration),
}

impl Ending {
    fn stalled(reason: Reason, message: String, requeue: Requeue) -> Self {
        Self::Report(Outcome::Stalled { reason, message }, requeue)
    }
}

/// A call that failed. AWS failures are classified into conditions;
/// Kubernetes failures leave the reconcile for `error_policy`.
enum Failure {
    Sso(SsoError),
    Kube(kube::Error),
}

impl From<SsoError> for Failure {
    fn from(e: SsoError) -> Self {
        Self::Sso(e)
    }
}

impl From<kube::Error> for Failure {
    fn from(e: kube::Error) -> Self {
        Self::Kube(e)
    }
}

type Step = Result<Ending, Failure>;

pub async fn reconcile(object: Arc<Watched>, ctx: Arc<Context>) -> Result<Action, Error> {
    reconcile_object(object, ctx).await.map(Action::from)
}

/// One reconcile, ending in when to look again.
pub(super) async fn reconcile_object(object: Arc<Watched>, ctx: Arc<Context>) -> Result<Next, Error> {
    // A namespace at its share of the slots gives this one back at once.
    let Some(_slot) = ctx.fair_share.enter(&object.namespace().unwrap_or_default()) else {
        ctx.metrics.reconciled("over-share", 0.0);
        return Ok(Next::after(OVER_SHARE_RETRY.mul_f64(1.0 + rand::random::<f64>())));
    };
    let started = Instant::now();
    let _in_flight = ctx.metrics.reconcile_started();
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    let result = match &object.0 {
        Ok(valid) => Reconcile::new(valid.clone(), &ctx, recorder).run().await,
        Err(invalid) => super::malformed::report(invalid, &ctx, recorder).await,
    };
    let (label, seconds) = (result.as_ref().map_or("error", |(label, _)| label), started.elapsed().as_secs_f64());
    ctx.metrics.reconciled(label, seconds);
    result.map(|(_, next)| next)
}

/// The role an object acts through, in a session of its own that names it.
pub(super) fn role_ref(credentials: &Credentials, object: &IdentityCenterInstance) -> RoleRef {
    let requester = Requester { namespace: object.namespace().unwrap_or_default(), name: object.name_any() };
    RoleRef { on_behalf_of: Some(requester), ..RoleRef::new(&credentials.role_arn, credentials.external_id.clone()) }
}

/// Who acts for the object: the admitted role, else the operator itself.
fn principal_of(admitted: Option<&Credentials>, object: &IdentityCenterInstance) -> Principal {
    admitted.map_or(Principal::Operator, |credentials| Principal::Role(role_ref(credentials, object)))
}

/// The action of a condition transition's event: CreateInstance for the
/// one that reports it, else the reconcile itself.
fn transition_action(reason: Reason) -> &'static str {
    match reason {
        Reason::CreateRequested => "CreateInstance",
        _ => "Reconcile",
    }
}

fn paused_message(deleting: bool) -> String {
    let mut message = format!("{PAUSED} is \"true\": the operator makes no AWS call for this object");
    if deleting {
        message.push_str("; its deletion waits until the annotation is removed");
    }
    message
}

fn elapsed_since(time: Option<&Time>) -> Duration {
    let elapsed = time.map(|t| Timestamp::now().duration_since(t.0));
    elapsed.and_then(|d| Duration::try_from(d).ok()).unwrap_or_default()
}

struct Reconcile<'a> {
    ctx: &'a Context,
    /// Shared with the write guards, which decide tenancy for it again at each write.
    object: Arc<IdentityCenterInstance>,
    cluster: Cluster,
    /// The status being built; written at the end, and earlier where a crash must not lose it.
    status: IdentityCenterInstanceStatus,
    previous_conditions: Vec<Condition>,
    /// Whose credentials the object acts with, as tenancy admitted them: a
    /// role (its own or a grant's default) or the operator's own.
    principal: Principal,
    /// That role as tenancy admitted it, which every write must still be admitted through.
    admitted: Option<Credentials>,
}

impl<'a> Reconcile<'a> {
    fn new(object: IdentityCenterInstance, ctx: &'a Context, recorder: Recorder) -> Self {
        let status = object.status.clone().unwrap_or_default();
        let previous_conditions = status.conditions.clone();
        let cluster = Cluster::new(ctx.client.clone(), recorder, object.clone());
        let admitted = object.spec.credentials.clone();
        let principal = principal_of(admitted.as_ref(), &object);
        Self { ctx, object: Arc::new(object), cluster, status, previous_conditions, principal, admitted }
    }

    fn uid(&self) -> String {
        self.object.uid().unwrap_or_default()
    }

    async fn run(mut self) -> Result<(&'static str, Next), Error> {
        let deleting = self.object.metadata.deletion_timestamp.is_some();
        let paused = self.object.annotations().get(PAUSED).is_some_and(|v| v == "true");
        // A pause comes before everything: no AWS call at all; the finalizer stays, so deletion waits.
        let decision = self.ctx.tenancy.decide(&self.object);
        if !paused
            && matches!(decision, Decision::Act(_))
            && self.ctx.first_sight(&self.uid())
            && let Some(window) = self.settled()
        {
            // Settled and checked recently (a restart, a new leader): no AWS call, its next check in its turn.
            self.ctx.metrics.object_state(&self.uid(), "ready", self.ready_reason());
            return Ok(("settled", Next::after(self.ctx.resync.delay_within(window))));
        }
        let ending = match decision {
            _ if paused => Ok(Ending::Report(Outcome::Paused { message: paused_message(deleting) }, Requeue::OnChange)),
            // Tenancy first: a refused object gets no AWS call and no finalizer.
            Decision::NotYetKnown => Ok(Ending::Defer(tenancy::LIST_WAIT)),
            Decision::Refused(message) if deleting => self.release_not_permitted(&message).await.map_err(Failure::Kube),
            // A grant change rechecks it; the delay covers a change that raced with this decision.
            Decision::Refused(message) => {
                Ok(Ending::stalled(Reason::NotPermitted, message, Requeue::After(tenancy::REFUSED_RECHECK)))
            }
            Decision::Act(role) => {
                self.principal = principal_of(role.as_ref(), &self.object);
                self.admitted = role;
                match deleting {
                    true => self.delete().await,
                    false => self.apply().await,
                }
            }
        };
        let (outcome, requeue) = match ending {
            Ok(Ending::Report(outcome, requeue)) => (outcome, requeue),
            Ok(Ending::Released) => return Ok(("released", Next::on_change())),
            Ok(Ending::Defer(delay)) => return Ok(("deferred", Next::after(delay))),
            Err(Failure::Kube(error)) => return Err(error.into()),
            Err(Failure::Sso(error)) => match classify(&error) {
                Handling::Report(classified) => self.failed(classified, &error),
                // This replica may write nothing more, its status included.
                // If the lease comes back (a late renewal), the object is looked at again.
                Handling::Fenced => return Ok(("fenced", Next::after(FENCED_RETRY))),
                // The account's call rate has no token for a while: give the slot back and come back for it.
                Handling::Deferred(wait) => {
                    return Ok(("deferred", Next::after(wait.mul_f64(1.0 + 0.5 * rand::random::<f64>()))));
                }
                // A grant narrowed while the write was on its way: refused as if at the start, nothing was sent.
                Handling::Refused(message) if deleting => {
                    self.release_not_permitted(&message).await?;
                    return Ok(("released", Next::on_change()));
                }
                Handling::Refused(message) => (
                    Outcome::Stalled { reason: Reason::NotPermitted, message },
                    Requeue::After(tenancy::REFUSED_RECHECK),
                ),
            },
        };
        if !matches!(outcome, Outcome::Retrying { .. }) {
            self.ctx.record_success(&self.uid());
        }
        self.finish(&outcome).await?;
        let label = match outcome {
            Outcome::Ready { .. } => "ready",
            Outcome::Progressing { .. } => "progressing",
            Outcome::Retrying { .. } => "retrying",
            Outcome::Stalled { .. } => "stalled",
            Outcome::Paused { .. } => "paused",
        };
        self.ctx.metrics.object_state(&self.uid(), label, outcome.reason().as_str());
        let next = match requeue {
            Requeue::After(delay) => Next::after(delay),
            Requeue::Resync => Next::after(self.ctx.resync.next_delay()),
            Requeue::OnChange => Next::on_change(),
        };
        Ok((label, next))
    }

    /// The outcome to report for a classified AWS failure, and the next attempt.
    fn failed(&self, classified: Classified, error: &SsoError) -> (Outcome, Requeue) {
        self.ctx.metrics.error(classified.reason.as_str());
        tracing::warn!(object = %self.object.name_any(), reason = classified.reason.as_str(), %error, "reconcile failed");
        match classified.retry {
            Retry::Never => {
                (Outcome::Stalled { reason: classified.reason, message: classified.message }, Requeue::OnChange)
            }
            retry => {
                let attempt = self.ctx.record_failure(&self.uid());
                let delay = backoff_delay(retry, attempt, rand::random::<f64>()).unwrap_or(apply::CLAIM_RECHECK);
                (Outcome::Retrying { reason: classified.reason, message: classified.message }, Requeue::After(delay))
            }
        }
    }

    /// Writes the conditions (only when something changed), then emits the transition's event.
    async fn finish(&mut self, outcome: &Outcome) -> Result<(), Error> {
        let generation = self.object.metadata.generation.unwrap_or_default();
        self.status.conditions = next_conditions(&self.previous_conditions, outcome, generation, Timestamp::now());
        self.status.observed_generation = Some(generation);
        if !matches!(outcome, Outcome::Paused { .. }) {
            // This reconcile looked at AWS: it served the latest request for a drift check, if any.
            let requested = self.object.annotations().get(RECONCILE_REQUESTED_AT).cloned();
            self.status.last_handled_reconcile_at = requested.or(self.status.last_handled_reconcile_at.take());
        }
        if self.object.status.as_ref() != Some(&self.status) {
            self.cluster.write_status(&self.status).await?;
        }
        if let Some((warning, reason, note)) =
            transition_event(&self.previous_conditions, &self.status.conditions, outcome)
        {
            let type_ = if warning { EventType::Warning } else { EventType::Normal };
            self.report(type_, transition_action(reason), reason.as_str(), note).await;
        }
        Ok(())
    }

    /// Publishes an event and logs the same change: INFO (WARN for a
    /// warning) with the object, ARN, account and region as fields. Every AWS
    /// write and every state change goes through here; no credential does.
    /// `action` is what the operator did (the AWS call it made, or
    /// `Reconcile`, `Release`), `reason` why, as events.k8s.io/v1 separates them.
    async fn report(&self, type_: EventType, action: &'static str, reason: &str, note: String) {
        let status = &self.status;
        let object = key_of(self.object.as_ref());
        let arn = status.instance_arn.as_deref().unwrap_or("-");
        let account = status.target_account_id.as_deref().unwrap_or("-");
        let region = status.region.as_deref().unwrap_or("-");
        match type_ {
            EventType::Warning => tracing::warn!(%object, action, reason, arn, account, region, "{note}"),
            EventType::Normal => tracing::info!(%object, action, reason, arn, account, region, "{note}"),
        }
        self.cluster.event(type_, action, reason, note).await;
    }

    /// The window of the next drift check, if the object needs nothing from AWS before it.
    fn settled(&self) -> Option<CheckWindow> {
        settled::next_check(&self.object, Timestamp::now(), self.ctx.settings.resync_interval)
    }

    /// The reason of the Ready condition as last written.
    fn ready_reason(&self) -> &str {
        let ready = self.previous_conditions.iter().find(|c| c.type_ == crate::controller::conditions::READY);
        ready.map_or("", |c| c.reason.as_str())
    }

    /// This object, as the ownership tags of the instance it creates name it.
    fn maker(&self) -> Maker<'_> {
        let meta = &self.object.metadata;
        Maker {
            cluster: &self.ctx.settings.cluster_name,
            namespace: meta.namespace.as_deref().unwrap_or_default(),
            name: meta.name.as_deref().unwrap_or_default(),
        }
    }

    fn target(&self, region: &str) -> Target {
        Target { region: region.to_string(), principal: self.principal.clone(), guard: self.write_guard() }
    }

    /// Tenancy decided again, from the grant cache, at the moment each write
    /// is sent: a grant removed or narrowed since this reconcile began stops
    /// it, and so does one that now admits the object through another role.
    fn write_guard(&self) -> WriteGuard {
        let (tenancy, object, admitted) = (self.ctx.tenancy.clone(), self.object.clone(), self.admitted.clone());
        WriteGuard::new(move || match tenancy.decide(&object) {
            Decision::Act(role) if role == admitted => Ok(()),
            Decision::Act(_) => Err(format!(
                "The grants now admit {} through another role than the one this write was prepared with; nothing \
                 was sent, and the object is looked at again.",
                key_of(object.as_ref())
            )),
            Decision::Refused(message) => Err(message),
            Decision::NotYetKnown => Err("The grants are being listed again; nothing was sent.".to_string()),
        })
    }

    /// The account this object acts in: its role's, else the operator's own.
    async fn account(&self, region: &str) -> Result<String, SsoError> {
        match self.principal.role_account() {
            Some(account) => Ok(account.to_string()),
            None => self.operator_account(region).await,
        }
    }

    /// The account of the operator's own credentials, asked once per process.
    async fn operator_account(&self, region: &str) -> Result<String, SsoError> {
        let mut own = self.ctx.own_account.lock().await;
        if let Some(account) = own.as_ref() {
            return Ok(account.clone());
        }
        let account = self.ctx.sso.caller_account(&Target::new(region, Principal::Operator)).await?;
        *own = Some(account.clone());
        Ok(account)
    }

    fn record(&mut self, instance: &Instance, region: &str) {
        observed::record(&mut self.status, instance, region, Timestamp::now());
    }

    /// Time since this object asked for its instance (or AWS created it).
    fn since_creation(&self) -> Duration {
        elapsed_since(self.status.create_requested_at.as_ref().or(self.status.created_date.as_ref()))
    }
}
