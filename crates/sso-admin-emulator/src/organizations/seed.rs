//! The organization as the settings describe it (`organization:`), checked
//! against the model's id patterns before the emulator starts.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ids::{ACCOUNT_ID, ORGANIZATION_ID, ROOT_ID, UNIT_ID};

/// `organization` in the settings: one organization that exists from the start.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationSeed {
    /// `o-` and 10-32 lowercase letters or digits; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// `r-` and 4-32 lowercase letters or digits; generated (4) when absent.
    #[serde(default)]
    pub root_id: Option<String>,
    pub management_account: String,
    /// Accounts registered as delegated administrators (for `sso.amazonaws.com`):
    /// they may read the organization as the management account does.
    #[serde(default)]
    pub delegated_administrators: Vec<String>,
    /// Whether member accounts may create account instances of IAM Identity Center.
    #[serde(default = "allowed")]
    pub account_instances_allowed: bool,
    /// Account id, OU id or root id -> actions a service control policy
    /// denies there (`sso:CreateInstance`, `sso:*`): for the accounts at or
    /// below it, the management account excepted, as SCPs do.
    #[serde(default)]
    pub service_control_policy_denies: BTreeMap<String, Vec<String>>,
    /// Accounts directly in the root. The management account is put there
    /// when no OU lists it.
    #[serde(default)]
    pub accounts: Vec<SeedAccount>,
    #[serde(default)]
    pub organizational_units: Vec<SeedUnit>,
}

fn allowed() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedUnit {
    pub name: String,
    /// `ou-<the root id's letters>-<8-32 letters or digits>`; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub accounts: Vec<SeedAccount>,
    #[serde(default)]
    pub organizational_units: Vec<SeedUnit>,
}

/// An account: its id alone, or with its details.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SeedAccount {
    Id(String),
    Detailed(AccountDetails),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountDetails {
    pub id: String,
    /// `Account <id>` when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// `<id>@example.com` when absent.
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub state: AccountState,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// The model's AccountState.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountState {
    PendingActivation,
    #[default]
    Active,
    Suspended,
    PendingClosure,
    Closed,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingActivation => "PENDING_ACTIVATION",
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::PendingClosure => "PENDING_CLOSURE",
            Self::Closed => "CLOSED",
        }
    }
}

impl SeedAccount {
    pub fn details(&self) -> AccountDetails {
        match self {
            Self::Id(id) => AccountDetails {
                id: id.clone(),
                name: None,
                email: None,
                state: AccountState::Active,
                tags: BTreeMap::new(),
            },
            Self::Detailed(details) => details.clone(),
        }
    }
}

impl OrganizationSeed {
    /// Every account of the tree, in order: the root's, then each OU's, depth first.
    pub fn accounts(&self) -> Vec<AccountDetails> {
        fn walk(units: &[SeedUnit], out: &mut Vec<AccountDetails>) {
            for unit in units {
                out.extend(unit.accounts.iter().map(SeedAccount::details));
                walk(&unit.organizational_units, out);
            }
        }
        let mut out: Vec<AccountDetails> = self.accounts.iter().map(SeedAccount::details).collect();
        walk(&self.organizational_units, &mut out);
        out
    }

    /// What the model and a sound tree require: well-formed ids, each account
    /// once, delegated administrators and SCP targets inside the organization,
    /// and `accountOrganizations` agreeing with it.
    pub fn check(&self, account_organizations: &BTreeMap<String, String>) -> Result<(), String> {
        let malformed =
            |what: &str, id: &str| format!("organization: {what} '{id}' does not match the model's pattern");
        if let Some(id) = self.id.as_deref().filter(|id| !ORGANIZATION_ID.is_match(id)) {
            return Err(malformed("id", id));
        }
        if let Some(id) = self.root_id.as_deref().filter(|id| !ROOT_ID.is_match(id)) {
            return Err(malformed("rootId", id));
        }
        let mut members = BTreeSet::new();
        for account in self.accounts() {
            if !ACCOUNT_ID.is_match(&account.id) {
                return Err(malformed("account", &account.id));
            }
            if !members.insert(account.id.clone()) {
                return Err(format!("organization: account {} is listed twice", account.id));
            }
        }
        members.insert(self.management_account.clone());
        if !ACCOUNT_ID.is_match(&self.management_account) {
            return Err(malformed("managementAccount", &self.management_account));
        }
        let root_letters = self.root_id.as_deref().and_then(|root| root.strip_prefix("r-"));
        let mut units = BTreeSet::new();
        let mut pending: Vec<&SeedUnit> = self.organizational_units.iter().collect();
        while let Some(unit) = pending.pop() {
            if let Some(id) = &unit.id {
                if !UNIT_ID.is_match(id) {
                    return Err(malformed("organizational unit id", id));
                }
                // OU ids carry their root's letters: ou-<root>-<unit>.
                if root_letters.is_none_or(|letters| !id.starts_with(&format!("ou-{letters}-"))) {
                    return Err(format!("organization: OU id {id} needs a rootId whose letters it carries"));
                }
                if !units.insert(id.clone()) {
                    return Err(format!("organization: organizational unit {id} is listed twice"));
                }
            }
            pending.extend(&unit.organizational_units);
        }
        if let Some(outsider) = self.delegated_administrators.iter().find(|a| !members.contains(*a)) {
            return Err(format!("organization: delegated administrator {outsider} is not in the organization"));
        }
        let root = self.root_id.as_deref();
        let known = |target: &String| members.contains(target) || units.contains(target) || root == Some(target);
        if let Some(unknown) = self.service_control_policy_denies.keys().find(|t| !known(t)) {
            return Err(format!(
                "organization: serviceControlPolicyDenies names {unknown}, which is not an account, OU id or root id of it"
            ));
        }
        // accountOrganizations is derived from the organization for its
        // members; a different entry for one of them is a contradiction.
        let disagreeing = members
            .iter()
            .find(|a| account_organizations.get(*a).is_some_and(|organization| Some(organization) != self.id.as_ref()));
        match disagreeing {
            Some(account) => Err(format!(
                "accountOrganizations puts {account} in {}, but organization {} lists it",
                account_organizations[account],
                self.id.as_deref().unwrap_or("(no id given)")
            )),
            None => Ok(()),
        }
    }
}
