//! The object is being deleted: Retain and ObserveOnly release it untouched;
//! Delete deletes the instance and releases the object once it is gone.

use kube::runtime::events::EventType;

use super::apply::{CLAIM_WAIT, Claim};
use k8s_openapi::jiff::Timestamp;

use super::{Ending, Failure, Reconcile, Requeue, Step, elapsed_since};
use crate::controller::conditions::{Outcome, Reason};
use crate::controller::instance::decide::{self, DeleteProgress, DeleteStart, Deletion, Doomed, Release};
use crate::controller::instance::observed::whole_seconds;
use crate::sso::{ErrorKind, InstanceState, SsoError, Target};

impl Reconcile<'_> {
    pub(super) async fn delete(&mut self) -> Step {
        if !self.cluster.has_finalizer() {
            return Ok(Ending::Released);
        }
        let doomed = match decide::deletion(&self.object.spec, Some(&self.status)) {
            Deletion::Release(release) => return self.release(release).await,
            Deletion::Delete(doomed) => doomed,
        };
        let Some(region) = self.deletion_region() else { return Ok(region_unknown()) };
        let target = self.target(&region);
        let account = self.account(&region).await?;
        if let Some(outcome) = decide::account_changed(self.object.status.as_ref(), &account) {
            return Ok(Ending::Report(outcome, Requeue::OnChange));
        }
        // Only the account's claim holder may delete: whatever this object recorded, another manages the account now.
        match self.claim(&account, &region).await? {
            Claim::Held => {}
            Claim::NotYetKnown => return Ok(Ending::Defer(CLAIM_WAIT)),
            Claim::HeldBy(holder) => return self.release_not_holder(&account, &holder).await,
        }
        let arn = match doomed {
            Doomed::Recorded(arn) => arn,
            // The instance to recover was created in the recorded account; another account's must not be taken.
            Doomed::Recover(_)
                if self.status.target_account_id.as_deref().is_some_and(|recorded| recorded != account) =>
            {
                return Ok(recovery_account_changed(self.status.target_account_id.as_deref(), &account));
            }
            Doomed::Recover(requested) => match self.recover(&target, &account, requested).await? {
                Some(found) => found,
                None => return self.release(Release::NeverCreated).await,
            },
        };
        self.delete_instance(&target, &region, &arn).await
    }

    /// Where the instance lives: as recorded, else as the spec or the operator's default says.
    fn deletion_region(&self) -> Option<String> {
        let spec_region = self.object.spec.region.clone();
        self.status.region.clone().or(spec_region).or_else(|| self.ctx.settings.default_region.clone())
    }

    /// DeleteInstance once, then waits until the instance is gone and lets the object go.
    async fn delete_instance(&mut self, target: &Target, region: &str, arn: &str) -> Step {
        let progress = match decide::delete_start(&self.status) {
            DeleteStart::Send => match self.send_delete(target, arn).await {
                Ok(()) => return Ok(self.deleting(arn)),
                // Recorded ACTIVE, yet AWS refuses: the instance may be gone already; a look tells.
                Err(Failure::Sso(error)) if hides_instance(&error) => {
                    match self.delete_progress(target, region, arn, DeleteStart::Look).await? {
                        DeleteProgress::SendDelete => return Err(error.into()),
                        progress => progress,
                    }
                }
                Err(failure) => return Err(failure),
            },
            start => self.delete_progress(target, region, arn, start).await?,
        };
        match progress {
            DeleteProgress::Gone => {
                let note = format!("Instance {arn} is deleted");
                self.report(EventType::Normal, "DeleteInstance", "InstanceDeleted", note).await;
                self.cluster.remove_finalizer().await?;
                Ok(Ending::Released)
            }
            DeleteProgress::Wait => Ok(self.deleting(arn)),
            DeleteProgress::SendDelete => {
                self.send_delete(target, arn).await?;
                Ok(self.deleting(arn))
            }
        }
    }

    /// Where the deletion stands, from DescribeInstance.
    async fn delete_progress(
        &mut self,
        target: &Target,
        region: &str,
        arn: &str,
        start: DeleteStart,
    ) -> Result<DeleteProgress, Failure> {
        let instance = match start {
            DeleteStart::Follow => match self.ctx.sso.describe_instance(target, arn).await {
                Ok(instance) => Some(instance),
                Err(error) if hides_instance(&error) => None,
                Err(error) => return Err(error.into()),
            },
            DeleteStart::Send | DeleteStart::Look => self.describe(target, arn).await?,
        };
        if let Some(instance) = &instance {
            self.record(instance, region);
        }
        Ok(decide::delete_progress(instance.as_ref()))
    }

    /// DeleteInstance, with its marker written first so that a restart looks before it sends another.
    async fn send_delete(&mut self, target: &Target, arn: &str) -> Result<(), Failure> {
        if self.status.delete_requested_at.is_none() {
            self.status.delete_requested_at = Some(whole_seconds(Timestamp::now()));
            self.cluster.write_status(&self.status).await?;
        }
        self.ctx.sso.delete_instance(target, arn).await?;
        self.status.state = Some(InstanceState::DeleteInProgress.as_str().to_string());
        let note = format!("DeleteInstance sent for {arn}");
        self.report(EventType::Normal, "DeleteInstance", "DeleteRequested", note).await;
        Ok(())
    }

    fn deleting(&self, arn: &str) -> Ending {
        let deleting = Outcome::Progressing { reason: Reason::Deleting, message: format!("Deleting instance {arn}") };
        let poll = Requeue::After(decide::poll_delay(elapsed_since(self.object.metadata.deletion_timestamp.as_ref())));
        Ending::Report(deleting, poll)
    }

    /// No grant admits the object any more: it is let go without DeleteInstance,
    /// whatever its deletionPolicy; a grant's removal never deletes an instance.
    pub(super) async fn release_not_permitted(&mut self, refusal: &str) -> Result<Ending, kube::Error> {
        if !self.cluster.has_finalizer() {
            return Ok(Ending::Released);
        }
        let instance = self.status.instance_arn.as_deref().unwrap_or("no instance");
        let note = format!("Released without DeleteInstance: {instance} is left in AWS. {refusal}");
        self.report(EventType::Warning, "Release", Reason::NotPermitted.as_str(), note).await;
        self.cluster.remove_finalizer().await?;
        Ok(Ending::Released)
    }

    /// Another object holds the account: this one is let go without DeleteInstance.
    async fn release_not_holder(&mut self, account: &str, holder: &str) -> Step {
        let instance = self.status.instance_arn.as_deref().unwrap_or("no instance");
        let note = format!(
            "Released without DeleteInstance: account {account} is managed by IdentityCenterInstance {holder}, so \
             {instance} is not this object's to delete"
        );
        self.report(EventType::Warning, "Release", Reason::AccountAlreadyManaged.as_str(), note).await;
        self.cluster.remove_finalizer().await?;
        Ok(Ending::Released)
    }

    /// Lets the object go without touching AWS.
    async fn release(&self, release: Release) -> Step {
        let note = release.note(self.status.instance_arn.as_deref());
        self.report(EventType::Normal, "Release", release.reason(), note).await;
        self.cluster.remove_finalizer().await.map_err(Failure::Kube)?;
        Ok(Ending::Released)
    }
}

fn recovery_account_changed(recorded: Option<&str>, account: &str) -> Ending {
    let recorded = recorded.unwrap_or_default();
    let message = format!(
        "CreateInstance was sent in account {recorded}, but the object now acts in account {account}; the \
         operator does not look for its instance there. Restore the role (or the grant's default role) of account \
         {recorded}, or set deletionPolicy: Retain to release the object."
    );
    Ending::stalled(Reason::AccountChanged, message, Requeue::OnChange)
}

/// What AWS answers for an instance that is not there (or no longer visible to the caller).
fn hides_instance(error: &SsoError) -> bool {
    matches!(error.kind, ErrorKind::AccessDenied | ErrorKind::ResourceNotFound)
}

fn region_unknown() -> Ending {
    let message = "The instance's region is not recorded; set spec.region (or --default-region) so that it can be \
                   deleted, or set deletionPolicy: Retain to release the object.";
    Ending::stalled(Reason::RegionUnknown, message.into(), Requeue::OnChange)
}
