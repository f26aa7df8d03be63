//! Changes to the structure: a new organization, new OUs, accounts moved
//! between parents, delegated administrators.

use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::ids::{ACCOUNT_ID, ANY_TEXT, PARENT_ID, SERVICE_PRINCIPAL, new_unit_id};
use super::reads::{account_not_found, parent_not_found};
use super::seed::{AccountDetails, AccountState};
use super::tree::{Organization, Unit};
use super::{OrganizationsState, refusal};
use crate::Caller;
use crate::config::Config;
use crate::error::ApiError;
use crate::validate::Input;

/// AWS allows five levels of OUs below the root.
const MAX_DEPTH: usize = 5;

impl OrganizationsState {
    /// The caller's account becomes the management account of a new organization.
    pub(super) fn create_organization(
        &mut self,
        config: &mut Config,
        rng: &mut StdRng,
        caller: &Caller,
        input: &Input,
    ) -> Result<Value, ApiError> {
        let feature_set = input.one_of("FeatureSet", &["ALL", "CONSOLIDATED_BILLING"])?;
        if feature_set == Some("CONSOLIDATED_BILLING") {
            return Err(refusal(
                "ConstraintViolationException",
                "This emulator models organizations with all features enabled only.",
            )
            .with_reason("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"));
        }
        if self.index_of(&caller.account).is_some() {
            return Err(refusal(
                "AlreadyInOrganizationException",
                "The AWS account is already a member of an organization.",
            ));
        }
        let management = AccountDetails {
            id: caller.account.clone(),
            name: Some("Management".into()),
            email: None,
            state: AccountState::Active,
            tags: Default::default(),
        };
        let organization = Organization::new(rng, management, None, None);
        organization.record_in(config);
        let answer = json!({"Organization": organization.organization_json()});
        self.organizations.push(organization);
        Ok(answer)
    }
}

impl Organization {
    pub(super) fn create_unit(&mut self, rng: &mut StdRng, input: &Input) -> Result<Value, ApiError> {
        let parent = input.required_string("ParentId", 0, 100, &PARENT_ID)?;
        let name = input.required_string("Name", 1, 128, &ANY_TEXT)?;
        let tags = input.tags("Tags")?.unwrap_or_default();
        if !self.is_parent(parent) {
            return Err(parent_not_found(parent));
        }
        if self.units.iter().any(|u| u.parent == parent && u.name == name) {
            return Err(refusal("DuplicateOrganizationalUnitException", "An OU with the same name already exists."));
        }
        if self.depth(parent) >= MAX_DEPTH {
            return Err(refusal(
                "ConstraintViolationException",
                "You can't create an OU more than five levels deep below the root.",
            )
            .with_reason("OU_DEPTH_LIMIT_EXCEEDED"));
        }
        let id = new_unit_id(rng, &self.root_id);
        let unit = Unit { id, name: name.into(), parent: parent.into(), tags };
        let answer = json!({"OrganizationalUnit": self.unit_json(&unit)});
        self.units.push(unit);
        Ok(answer)
    }

    /// SourceParentId must be where the account is; the destination must differ.
    pub(super) fn move_account(&mut self, input: &Input) -> Result<Value, ApiError> {
        let id = input.required_string("AccountId", 0, 12, &ACCOUNT_ID)?;
        let source = input.required_string("SourceParentId", 0, 100, &PARENT_ID)?;
        let destination = input.required_string("DestinationParentId", 0, 100, &PARENT_ID)?;
        let current = self.account(id).ok_or_else(|| account_not_found(id))?.parent.clone();
        if !self.is_parent(source) || current != source {
            return Err(refusal(
                "SourceParentNotFoundException",
                format!("We can't find a source root or OU with the ParentId {source} that holds account {id}."),
            ));
        }
        if !self.is_parent(destination) {
            return Err(refusal(
                "DestinationParentNotFoundException",
                format!("We can't find the destination root or OU {destination}."),
            ));
        }
        if destination == current {
            return Err(refusal(
                "DuplicateAccountException",
                "That account is already present in the specified destination.",
            ));
        }
        let account = self.accounts.iter_mut().find(|a| a.id == id).expect("found above");
        account.parent = destination.into();
        Ok(json!({}))
    }

    pub(super) fn register_delegated_administrator(&mut self, input: &Input) -> Result<Value, ApiError> {
        let id = input.required_string("AccountId", 0, 12, &ACCOUNT_ID)?;
        let principal = input.required_string("ServicePrincipal", 1, 128, &SERVICE_PRINCIPAL)?;
        if self.account(id).is_none() {
            return Err(account_not_found(id));
        }
        if id == self.management {
            return Err(refusal(
                "ConstraintViolationException",
                "You can't register the management account as a delegated administrator.",
            )
            .with_reason("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR"));
        }
        if self.delegated.iter().any(|(account, service)| account == id && service == principal) {
            return Err(refusal(
                "AccountAlreadyRegisteredException",
                "The provided account is already a delegated administrator for your organization.",
            ));
        }
        self.delegated.push((id.into(), principal.into()));
        Ok(json!({}))
    }
}
