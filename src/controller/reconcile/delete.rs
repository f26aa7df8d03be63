//! The object is being deleted: Retain and ObserveOnly release it untouched;
//! Delete deletes the instance and releases the object once it is gone.

use kube::runtime::events::EventType;

use super::{Done, Reconcile, Requeue, Stop, elapsed_since};
use crate::api::{DeletionPolicy, ManagementPolicy};
use crate::controller::conditions::Outcome;
use crate::controller::decide::{self, DeleteProgress, Deletion};

fn unknown_region() -> Stop {
    let message = "The instance's region is not recorded; set spec.region (or --default-region) so that it can be \
                   deleted, or set deletionPolicy: Retain to release the object.";
    Stop::Report(Outcome::Stalled { reason: "RegionUnknown", message: message.into() }, Requeue::OnChange)
}

impl Reconcile<'_> {
    /// None once the object is released.
    pub(super) async fn delete(&mut self) -> Result<Option<Done>, Stop> {
        if !self.cluster.has_finalizer() {
            return Ok(None);
        }
        let spec = self.object.spec.clone();
        let recorded = self.status.instance_arn.clone();
        let deletes =
            spec.deletion_policy == DeletionPolicy::Delete && spec.management_policy == ManagementPolicy::Manage;
        if !deletes || (recorded.is_none() && self.status.create_requested_at.is_none()) {
            // Nothing in AWS to touch (or to look up): no AWS call can hold the object back.
            let Deletion::Release(reason) = decide::deletion(&spec, recorded.as_deref()) else {
                unreachable!("only Delete with an ARN deletes")
            };
            self.release(reason, recorded.as_deref()).await?;
            return Ok(None);
        }
        let region = (self.status.region.clone().or(spec.region.clone()))
            .or(self.ctx.settings.default_region.clone())
            .ok_or_else(unknown_region)?;
        let target = self.target(&region);
        let account = self.account(&region).await?;
        if let Some(outcome) = decide::account_changed(self.object.status.as_ref(), &account) {
            return Err(Stop::Report(outcome, Requeue::OnChange));
        }
        let arn = match (recorded, &self.status.create_requested_at) {
            (Some(arn), _) => Some(arn),
            // A crash may have cut in between CreateInstance and recording its ARN.
            (None, Some(requested)) => {
                let instances = self.ctx.sso.list_instances(&target).await?;
                decide::recovered(&instances, &account, requested.0).map(|i| i.arn.clone())
            }
            (None, None) => None,
        };
        let arn = match decide::deletion(&spec, arn.as_deref()) {
            Deletion::Release(reason) => {
                self.release(reason, None).await?;
                return Ok(None);
            }
            Deletion::Delete(arn) => arn,
        };
        let instance = self.describe(&target, &arn).await?;
        if let Some(instance) = &instance {
            self.record(instance, &region);
        }
        let deleting = Outcome::Progressing { reason: "Deleting", message: format!("Deleting instance {arn}") };
        let poll = decide::poll_delay(elapsed_since(self.object.metadata.deletion_timestamp.as_ref()));
        match decide::delete_progress(instance.as_ref()) {
            DeleteProgress::Gone => {
                let note = format!("Instance {arn} is deleted");
                self.cluster.event(EventType::Normal, "InstanceDeleted", note).await;
                self.cluster.remove_finalizer().await?;
                Ok(None)
            }
            DeleteProgress::Wait => Ok(Some((deleting, Requeue::After(poll)))),
            DeleteProgress::SendDelete => {
                self.ctx.sso.delete_instance(&target, &arn).await?;
                self.status.state = Some("DELETE_IN_PROGRESS".into());
                self.cluster
                    .event(EventType::Normal, "DeleteRequested", format!("DeleteInstance sent for {arn}"))
                    .await;
                Ok(Some((deleting, Requeue::After(poll))))
            }
        }
    }

    async fn release(&self, reason: &'static str, arn: Option<&str>) -> Result<(), Stop> {
        let instance = arn.unwrap_or("no instance");
        let note = match reason {
            "Retained" => format!("deletionPolicy Retain: {instance} is left in AWS"),
            "ObserveOnly" => format!("ObserveOnly: {instance} is left untouched"),
            _ => "No instance was ever created for this object".to_string(),
        };
        self.cluster.event(EventType::Normal, reason, note).await;
        self.cluster.remove_finalizer().await?;
        Ok(())
    }
}
