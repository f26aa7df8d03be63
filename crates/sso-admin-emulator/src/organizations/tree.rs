//! One organization: its root, its OUs and its accounts, where each sits,
//! and how the model renders them. Account states follow from timestamps,
//! so nothing runs in the background.

use std::collections::BTreeMap;
use std::time::Instant;

use rand::rngs::StdRng;
use serde_json::{Value, json};

use super::ids::{new_organization_id, new_root_id, new_unit_id};
use super::seed::{AccountDetails, AccountState, OrganizationSeed, SeedUnit};

pub(super) const SSO_PRINCIPAL: &str = "sso.amazonaws.com";

pub(super) struct Unit {
    pub id: String,
    pub name: String,
    pub parent: String,
    pub tags: BTreeMap<String, String>,
}

pub(super) struct Account {
    pub id: String,
    pub name: String,
    pub email: String,
    pub parent: String,
    pub state: AccountState,
    /// Set by CloseAccount: PENDING_CLOSURE until then, CLOSED after.
    pub closes_at: Option<Instant>,
    pub joined_method: &'static str,
    pub joined_epoch: f64,
    pub tags: BTreeMap<String, String>,
}

impl Account {
    pub fn new(details: AccountDetails, parent: &str, joined_method: &'static str, joined_epoch: f64) -> Self {
        Self {
            name: details.name.unwrap_or_else(|| format!("Account {}", details.id)),
            email: details.email.unwrap_or_else(|| format!("{}@example.com", details.id)),
            id: details.id,
            parent: parent.to_string(),
            state: details.state,
            closes_at: None,
            joined_method,
            joined_epoch,
            tags: details.tags,
        }
    }

    pub fn state(&self, now: Instant) -> AccountState {
        match self.closes_at {
            Some(at) if at <= now => AccountState::Closed,
            Some(_) => AccountState::PendingClosure,
            None => self.state,
        }
    }
}

pub(super) struct Organization {
    pub id: String,
    pub root_id: String,
    pub root_tags: BTreeMap<String, String>,
    pub management: String,
    pub units: Vec<Unit>,
    pub accounts: Vec<Account>,
    /// (account, service principal) pairs.
    pub delegated: Vec<(String, String)>,
    pub account_instances_allowed: bool,
    pub scp_denies: BTreeMap<String, Vec<String>>,
}

impl Organization {
    /// A new organization whose only account is its management account, in the root.
    pub fn new(rng: &mut StdRng, management: AccountDetails, id: Option<String>, root_id: Option<String>) -> Self {
        let root_id = root_id.unwrap_or_else(|| new_root_id(rng));
        let account = Account::new(management, &root_id, "CREATED", super::epoch_now());
        Self {
            id: id.unwrap_or_else(|| new_organization_id(rng)),
            management: account.id.clone(),
            accounts: vec![account],
            root_id,
            root_tags: BTreeMap::new(),
            units: Vec::new(),
            delegated: Vec::new(),
            account_instances_allowed: true,
            scp_denies: BTreeMap::new(),
        }
    }

    /// The organization the settings describe (already checked).
    pub fn seeded(rng: &mut StdRng, seed: &OrganizationSeed) -> Self {
        let listed = seed.accounts();
        let management = listed.iter().find(|a| a.id == seed.management_account).cloned();
        let management = management.unwrap_or_else(|| AccountDetails {
            id: seed.management_account.clone(),
            name: Some("Management".into()),
            email: None,
            state: AccountState::Active,
            tags: BTreeMap::new(),
        });
        let mut organization = Self::new(rng, management, seed.id.clone(), seed.root_id.clone());
        let root = organization.root_id.clone();
        let now = super::epoch_now();
        for account in seed.accounts.iter().map(|a| a.details()).filter(|a| a.id != seed.management_account) {
            organization.accounts.push(Account::new(account, &root, "INVITED", now));
        }
        organization.seed_units(rng, &seed.organizational_units, &root);
        organization.delegated =
            seed.delegated_administrators.iter().map(|a| (a.clone(), SSO_PRINCIPAL.to_string())).collect();
        organization.account_instances_allowed = seed.account_instances_allowed;
        organization.scp_denies = seed.service_control_policy_denies.clone();
        organization
    }

    fn seed_units(&mut self, rng: &mut StdRng, units: &[SeedUnit], parent: &str) {
        for unit in units {
            let id = unit.id.clone().unwrap_or_else(|| new_unit_id(rng, &self.root_id));
            self.units.push(Unit {
                id: id.clone(),
                name: unit.name.clone(),
                parent: parent.into(),
                tags: unit.tags.clone(),
            });
            for account in &unit.accounts {
                let details = account.details();
                match self.accounts.iter_mut().find(|a| a.id == details.id) {
                    // The management account, placed in the root by `new`.
                    Some(existing) => existing.parent = id.clone(),
                    None => self.accounts.push(Account::new(details, &id, "INVITED", super::epoch_now())),
                }
            }
            self.seed_units(rng, &unit.organizational_units, &id);
        }
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.id == id)
    }

    pub fn is_parent(&self, id: &str) -> bool {
        id == self.root_id || self.unit(id).is_some()
    }

    pub fn is_delegated_administrator(&self, account: &str) -> bool {
        self.delegated.iter().any(|(a, _)| a == account)
    }

    /// The parent of an account or OU.
    pub fn parent_of(&self, child: &str) -> Option<&str> {
        self.account(child).map(|a| a.parent.as_str()).or_else(|| self.unit(child).map(|u| u.parent.as_str()))
    }

    /// A container and every container above it, itself first, the root last.
    pub fn lineage(&self, container: &str) -> Vec<String> {
        let mut chain = vec![container.to_string()];
        // Bounded by the number of OUs: a parent link never forms a cycle, but a loop must end.
        for _ in 0..=self.units.len() {
            match self.unit(chain.last().expect("never empty")) {
                Some(unit) => chain.push(unit.parent.clone()),
                None => break,
            }
        }
        chain
    }

    /// `o-.../r-.../ou-.../`: the model's Path of what sits in `container`.
    fn path(&self, container: &str) -> String {
        let mut parts = vec![self.id.clone()];
        parts.extend(self.lineage(container).into_iter().rev());
        format!("{}/", parts.join("/"))
    }

    /// OUs below the root: AWS allows five levels.
    pub fn depth(&self, container: &str) -> usize {
        self.lineage(container).len() - 1
    }

    fn arn(&self, kind: &str, id: &str) -> String {
        format!("arn:aws:organizations::{}:{kind}/{}/{id}", self.management, self.id)
    }

    pub fn organization_json(&self) -> Value {
        let management = self.account(&self.management).map(|a| a.email.as_str()).unwrap_or_default();
        json!({
            "Id": self.id,
            "Arn": format!("arn:aws:organizations::{}:organization/{}", self.management, self.id),
            "FeatureSet": "ALL",
            "MasterAccountArn": self.arn("account", &self.management),
            "MasterAccountId": self.management,
            "MasterAccountEmail": management,
            "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
        })
    }

    pub fn root_json(&self) -> Value {
        json!({
            "Id": self.root_id,
            "Arn": self.arn("root", &self.root_id),
            "Name": "Root",
            "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
        })
    }

    pub fn unit_json(&self, unit: &Unit) -> Value {
        json!({"Id": unit.id, "Arn": self.arn("ou", &unit.id), "Name": unit.name, "Path": self.path(&unit.id)})
    }

    /// The model's Account: `State`, never the retired `Status`.
    pub fn account_json(&self, account: &Account, now: Instant) -> Value {
        json!({
            "Id": account.id,
            "Arn": self.arn("account", &account.id),
            "Email": account.email,
            "Name": account.name,
            "State": account.state(now).as_str(),
            "Paths": [format!("{}{}/", self.path(&account.parent), account.id)],
            "JoinedMethod": account.joined_method,
            "JoinedTimestamp": account.joined_epoch,
        })
    }

    /// The tags of a root, OU or account.
    pub fn tags_of(&self, id: &str) -> Option<&BTreeMap<String, String>> {
        if id == self.root_id {
            return Some(&self.root_tags);
        }
        self.account(id).map(|a| &a.tags).or_else(|| self.unit(id).map(|u| &u.tags))
    }

    /// The first of `actions` a service control policy denies to `account`
    /// (never to the management account, which SCPs do not affect).
    pub fn scp_denied<'a>(&self, account: &str, actions: &[&'a str]) -> Option<&'a str> {
        if account == self.management || self.scp_denies.is_empty() {
            return None;
        }
        let parent = self.account(account)?.parent.clone();
        let mut targets = self.lineage(&parent);
        targets.push(account.to_string());
        let denied: Vec<&String> = targets.iter().filter_map(|t| self.scp_denies.get(t)).flatten().collect();
        actions.iter().copied().find(|action| denied.iter().any(|pattern| crate::iam::action_matches(pattern, action)))
    }
}
