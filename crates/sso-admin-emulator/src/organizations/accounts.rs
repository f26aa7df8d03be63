//! The account lifecycle: CreateAccount (asynchronous, followed with
//! DescribeCreateAccountStatus), CloseAccount (PENDING_CLOSURE, then
//! CLOSED) and RemoveAccountFromOrganization.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::ids::{
    ACCOUNT_ID, ACCOUNT_NAME, CREATE_REQUEST_ID, EMAIL, ROLE_NAME, new_account_id, new_create_request_id,
};
use super::reads::account_not_found;
use super::seed::{AccountDetails, AccountState};
use super::tree::{Account, Organization};
use super::{OrganizationsState, epoch_now, refusal};
use crate::config::Config;
use crate::error::ApiError;
use crate::validate::Input;

pub(super) struct CreateAccountRequest {
    id: String,
    organization: String,
    account: AccountDetails,
    tags: BTreeMap<String, String>,
    requested_epoch: f64,
    /// How long after the request it completes (`createAccountSeconds`).
    takes: Duration,
    done_at: Instant,
    failure: Option<&'static str>,
    /// Whether the account has joined the root (or the request has failed).
    settled: bool,
}

fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value.max(0.0))
}

impl CreateAccountRequest {
    fn status_json(&self, now: Instant) -> Value {
        let mut status = json!({
            "Id": self.id,
            "AccountName": self.account.name,
            "RequestedTimestamp": self.requested_epoch,
        });
        if now < self.done_at {
            status["State"] = json!("IN_PROGRESS");
            return status;
        }
        status["CompletedTimestamp"] = json!(self.requested_epoch + self.takes.as_secs_f64());
        match self.failure {
            Some(reason) => {
                status["State"] = json!("FAILED");
                status["FailureReason"] = json!(reason);
            }
            None => {
                status["State"] = json!("SUCCEEDED");
                status["AccountId"] = json!(self.account.id);
            }
        }
        status
    }
}

impl OrganizationsState {
    /// Accounts whose creation has completed join their organization's root.
    pub(super) fn settle_creations(&mut self, now: Instant) {
        for request in self.requests.iter_mut().filter(|r| !r.settled && r.done_at <= now) {
            request.settled = true;
            if request.failure.is_some() {
                continue;
            }
            let Some(organization) = self.organizations.iter_mut().find(|o| o.id == request.organization) else {
                continue;
            };
            let details = AccountDetails { tags: request.tags.clone(), ..request.account.clone() };
            let root = organization.root_id.clone();
            organization.accounts.push(Account::new(details, &root, "CREATED", epoch_now()));
        }
    }

    fn email_in_use(&self, email: &str) -> bool {
        let in_tree = self.organizations.iter().flat_map(|o| &o.accounts).any(|a| a.email == email);
        let requested = self.requests.iter().any(|r| r.failure.is_none() && r.account.email.as_deref() == Some(email));
        in_tree || requested
    }

    pub(super) fn create_account(
        &mut self,
        config: &mut Config,
        rng: &mut StdRng,
        index: usize,
        input: &Input,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let email = input.required_string("Email", 6, 64, &EMAIL)?;
        let name = input.required_string("AccountName", 1, 50, &ACCOUNT_NAME)?;
        input.string("RoleName", 0, 64, &ROLE_NAME)?;
        input.one_of("IamUserAccessToBilling", &["ALLOW", "DENY"])?;
        let tags = input.tags("Tags")?.unwrap_or_default();
        // An address already in use fails the request, as AWS reports it: asynchronously.
        let failure = self.email_in_use(email).then_some("EMAIL_ALREADY_EXISTS");
        let account_id = loop {
            let candidate = new_account_id(rng);
            if !config.account_organizations.contains_key(&candidate) {
                break candidate;
            }
        };
        let organization = self.organizations[index].id.clone();
        if failure.is_none() {
            // Reserved now, so that IAM conditions know the account's organization once it exists.
            config.account_organizations.insert(account_id.clone(), organization.clone());
        }
        let takes = seconds(config.create_account_seconds);
        let request = CreateAccountRequest {
            id: new_create_request_id(rng),
            organization,
            account: AccountDetails {
                id: account_id,
                name: Some(name.into()),
                email: Some(email.into()),
                state: AccountState::Active,
                tags: BTreeMap::new(),
            },
            tags,
            requested_epoch: epoch_now(),
            takes,
            done_at: now + takes,
            failure,
            settled: false,
        };
        let answer = json!({"CreateAccountStatus": request.status_json(now)});
        self.requests.push(request);
        Ok(answer)
    }

    pub(super) fn describe_create_account_status(
        &self,
        index: usize,
        input: &Input,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let id = input.required_string("CreateAccountRequestId", 0, 36, &CREATE_REQUEST_ID)?;
        let organization = &self.organizations[index].id;
        let request =
            self.requests.iter().find(|r| r.id == id && &r.organization == organization).ok_or_else(|| {
                refusal(
                    "CreateAccountStatusNotFoundException",
                    format!("We can't find a create account request with the CreateAccountRequestId {id}."),
                )
            })?;
        Ok(json!({"CreateAccountStatus": request.status_json(now)}))
    }

    /// The account leaves: standalone from now on, in no organization.
    pub(super) fn remove_account(
        &mut self,
        config: &mut Config,
        index: usize,
        input: &Input,
    ) -> Result<Value, ApiError> {
        let id = input.required_string("AccountId", 0, 12, &ACCOUNT_ID)?;
        let organization = &mut self.organizations[index];
        if organization.account(id).is_none() {
            return Err(account_not_found(id));
        }
        if id == organization.management {
            return Err(refusal(
                "MasterCannotLeaveOrganizationException",
                "You can't remove the management account from an organization.",
            ));
        }
        if organization.is_delegated_administrator(id) {
            return Err(refusal(
                "ConstraintViolationException",
                "The account is a delegated administrator; deregister it before it leaves the organization.",
            )
            .with_reason("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG"));
        }
        organization.accounts.retain(|a| a.id != id);
        config.account_organizations.remove(id);
        Ok(json!({}))
    }
}

impl Organization {
    /// PENDING_CLOSURE for `closeAccountSeconds`, then CLOSED; the account
    /// stays in the organization (AWS keeps closed accounts listed for 90 days).
    pub(super) fn close_account(&mut self, config: &Config, input: &Input, now: Instant) -> Result<Value, ApiError> {
        let id = input.required_string("AccountId", 0, 12, &ACCOUNT_ID)?;
        if id == self.management {
            return Err(refusal(
                "ConstraintViolationException",
                "You can't close the management account with this API.",
            )
            .with_reason("CANNOT_CLOSE_MANAGEMENT_ACCOUNT"));
        }
        let account = self.accounts.iter_mut().find(|a| a.id == id).ok_or_else(|| account_not_found(id))?;
        if matches!(account.state(now), AccountState::PendingClosure | AccountState::Closed) {
            return Err(refusal("AccountAlreadyClosedException", format!("Account {id} is already closed.")));
        }
        account.closes_at = Some(now + seconds(config.close_account_seconds));
        Ok(json!({}))
    }
}
