//! Whether a grant admits an object: a pure function of what the object
//! asks for, its namespace's labels and the grants.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};

use crate::api::{
    Credentials, DeletionPolicy, IdentityCenterAccountGrant, IdentityCenterAccountGrantSpec, ManagementPolicy,
    RegionRemovalPolicy,
};
use crate::sso::account_of_role;

/// What an object asks to do.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub namespace: &'a str,
    /// The namespace's labels; None when the namespace is not (yet) known.
    pub namespace_labels: Option<&'a BTreeMap<String, String>>,
    pub role: Option<&'a Credentials>,
    /// The OUs that the role's account sits under, as the instance sets' reads found it.
    pub account_units: &'a BTreeSet<String>,
    pub asks: Asks,
}

/// What an object does through the role it asks for.
#[derive(Clone, Copy, Debug)]
pub enum Asks {
    /// An IdentityCenterInstance: acts on an instance, with these policies.
    Instance(InstancePolicies),
    /// An IdentityCenterInstanceSet: lists accounts and OUs of an organization.
    OrganizationReads,
}

/// The policies and guarded settings of an IdentityCenterInstance.
#[derive(Clone, Copy, Debug)]
pub struct InstancePolicies {
    pub deletion_policy: DeletionPolicy,
    pub management_policy: ManagementPolicy,
    pub region_removal_policy: RegionRemovalPolicy,
    /// Whether the object sets the instance's KMS key (spec.encryption).
    pub sets_key: bool,
    /// Whether the object sets the instance's network controls (spec.network).
    pub sets_network: bool,
    /// Whether the object sets the instance's attribute-based access control (spec.accessControlAttributes).
    pub sets_access_control_attributes: bool,
}

/// An instance-wide setting that a grant must allow by name.
struct Guarded {
    /// The object's field that asks for it.
    field: &'static str,
    /// The grant's field that allows it.
    allowed_by: &'static str,
    allowed: fn(&IdentityCenterAccountGrantSpec) -> bool,
}

impl InstancePolicies {
    /// The guarded settings the object asks for.
    fn guarded_settings(&self) -> Vec<Guarded> {
        [
            (
                self.sets_key,
                Guarded { field: "spec.encryption", allowed_by: "allowKeyChanges", allowed: |g| g.allow_key_changes },
            ),
            (
                self.sets_network,
                Guarded {
                    field: "spec.network",
                    allowed_by: "allowNetworkChanges",
                    allowed: |g| g.allow_network_changes,
                },
            ),
            (
                self.sets_access_control_attributes,
                Guarded {
                    field: "spec.accessControlAttributes",
                    allowed_by: "allowAccessControlAttributeChanges",
                    allowed: |g| g.allow_access_control_attribute_changes,
                },
            ),
        ]
        .into_iter()
        .filter_map(|(asked, guarded)| asked.then_some(guarded))
        .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// `grant` admits the object, acting through `role`: its own, the
    /// grant's default role, or (None) the operator's own credentials.
    Admitted {
        grant: String,
        role: Option<Credentials>,
    },
    Refused {
        message: String,
    },
}

/// Whether `grant` applies to the namespace at all.
pub fn selects_namespace(
    grant: &IdentityCenterAccountGrant,
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let selection = &grant.spec.namespaces;
    if selection.names.iter().any(|name| name == namespace) {
        return true;
    }
    let (Some(selector), Some(labels)) = (&selection.selector, labels) else { return false };
    // An invalid selector (an unknown operator) selects nothing; the grant's Ready condition says why.
    Selector::try_from(selector.clone()).is_ok_and(|selector| selector.matches(labels))
}

/// Why `grant`, which selects the namespace, does not admit the request; None when it does.
fn refusal(grant: &IdentityCenterAccountGrant, request: &Request, role: Option<&Credentials>) -> Option<String> {
    let spec = &grant.spec;
    let account_granted = match role {
        // The grant that names a default role grants it, named or not.
        Some(role) if spec.default_role.as_ref().is_some_and(|default| default.role_arn == role.role_arn) => true,
        Some(role) => {
            spec.accounts.role_arns.contains(&role.role_arn)
                || account_of_role(&role.role_arn)
                    .is_some_and(|account| spec.accounts.account_ids.iter().any(|a| a == account))
                || spec.accounts.organizational_units.iter().any(|unit| request.account_units.contains(unit))
        }
        None => spec.accounts.operator_credentials,
    };
    if !account_granted {
        return Some(match role {
            Some(role) => format!("does not grant role {}", role.role_arn),
            None => "does not grant the operator's own credentials".to_string(),
        });
    }
    if let Some(required) = &spec.required_external_id
        && role.and_then(|r| r.external_id.as_ref()) != Some(required)
    {
        return Some("requires spec.credentials.externalId to be the one it names".to_string());
    }
    let Asks::Instance(policies) = request.asks else { return None };
    if !spec.deletion_policies.contains(&policies.deletion_policy) {
        return Some(format!("allows deletionPolicy {:?} only", spec.deletion_policies));
    }
    if !spec.management_policies.contains(&policies.management_policy) {
        return Some(format!("allows managementPolicy {:?} only", spec.management_policies));
    }
    if !spec.region_removal_policies.contains(&policies.region_removal_policy) {
        return Some(format!("allows regionRemovalPolicy {:?} only", spec.region_removal_policies));
    }
    let refused = policies.guarded_settings().into_iter().find(|guarded| !(guarded.allowed)(spec));
    refused.map(|guarded| format!("does not allow {} ({} is false)", guarded.field, guarded.allowed_by))
}

/// The first grant (by name) that admits the request, or a refusal that
/// names the namespace, what was asked and what grant would admit it.
pub fn admit(request: &Request, grants: &[&IdentityCenterAccountGrant]) -> Admission {
    let mut grants: Vec<&IdentityCenterAccountGrant> =
        grants.iter().copied().filter(|g| selects_namespace(g, request.namespace, request.namespace_labels)).collect();
    grants.sort_by_key(|g| g.name_any());
    let mut reasons = Vec::new();
    for grant in &grants {
        // A grant's default role is for instances: Organizations is read
        // only through a role the set names, or the operator's own credentials.
        let role = match request.asks {
            Asks::Instance(_) => request.role.or(grant.spec.default_role.as_ref()),
            Asks::OrganizationReads => request.role,
        };
        match refusal(grant, request, role) {
            None => return Admission::Admitted { grant: grant.name_any(), role: role.cloned() },
            Some(reason) => reasons.push(format!("{} {reason}", grant.name_any())),
        }
    }
    let asked = match request.role {
        Some(role) => match account_of_role(&role.role_arn) {
            Some(account) => format!("role {} (account {account})", role.role_arn),
            None => format!("role {}", role.role_arn),
        },
        None => "the operator's own credentials".to_string(),
    };
    let considered = match reasons.is_empty() {
        true => format!("No IdentityCenterAccountGrant selects namespace {}.", request.namespace),
        false => format!("Grants for namespace {}: {}.", request.namespace, reasons.join("; ")),
    };
    let accounts = match request.role {
        Some(role) => format!(
            "spec.accounts.roleArns lists {} (or accountIds its account, or organizationalUnits an OU above it)",
            role.role_arn
        ),
        None => "spec.accounts.operatorCredentials is true".to_string(),
    };
    let message = match request.asks {
        Asks::Instance(policies) => {
            let guarded = policies.guarded_settings();
            let fields: String = guarded.iter().map(|g| format!(", {}", g.field)).collect();
            let allowances: String = guarded.iter().map(|g| format!(", and whose {} is true", g.allowed_by)).collect();
            format!(
                "Namespace {} may not act with {asked}, deletionPolicy {:?}, managementPolicy {:?}, \
                 regionRemovalPolicy {:?}{fields}: no IdentityCenterAccountGrant admits it. {considered} A cluster \
                 administrator can admit it with a grant whose spec.namespaces selects {}, whose {accounts}, whose \
                 deletionPolicies, managementPolicies and regionRemovalPolicies include these values{allowances}. \
                 Nothing was sent to AWS.",
                request.namespace,
                policies.deletion_policy,
                policies.management_policy,
                policies.region_removal_policy,
                request.namespace,
            )
        }
        Asks::OrganizationReads => format!(
            "Namespace {} may not read AWS Organizations with {asked}: no IdentityCenterAccountGrant admits it. \
             {considered} A cluster administrator can admit it with a grant whose spec.namespaces selects {} and \
             whose {accounts}. Nothing was sent to AWS.",
            request.namespace, request.namespace,
        ),
    };
    Admission::Refused { message }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const ROLE: &str = "arn:aws:iam::222233334444:role/identity-center-admin";
    const OTHER_ROLE: &str = "arn:aws:iam::555566667777:role/identity-center-admin";
    const MANAGEMENT_ROLE: &str = "arn:aws:iam::999999999999:role/organizations-reader";

    fn grant(name: &str, spec: Value) -> IdentityCenterAccountGrant {
        serde_json::from_value(json!({
            "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant",
            "metadata": {"name": name}, "spec": spec,
        }))
        .unwrap()
    }

    fn credentials(role: &str, external_id: Option<&str>) -> Credentials {
        Credentials { role_arn: role.into(), external_id: external_id.map(String::from) }
    }

    struct Case {
        what: &'static str,
        namespace: &'static str,
        role: Option<Credentials>,
        units: BTreeSet<String>,
        asks: Asks,
        /// Some((grant, role acted through)) when admitted.
        want: Option<(&'static str, Option<Credentials>)>,
    }

    fn case(what: &'static str, namespace: &'static str, role: Option<Credentials>) -> Case {
        let policies = InstancePolicies {
            deletion_policy: DeletionPolicy::Retain,
            management_policy: ManagementPolicy::Manage,
            region_removal_policy: RegionRemovalPolicy::Retain,
            sets_key: false,
            sets_network: false,
            sets_access_control_attributes: false,
        };
        Case { what, namespace, role, units: BTreeSet::new(), asks: Asks::Instance(policies), want: None }
    }

    impl Case {
        fn policies(self, change: impl FnOnce(&mut InstancePolicies)) -> Self {
            let Asks::Instance(mut policies) = self.asks else { panic!("an instance case") };
            change(&mut policies);
            Self { asks: Asks::Instance(policies), ..self }
        }
        fn deleting(self) -> Self {
            self.policies(|p| p.deletion_policy = DeletionPolicy::Delete)
        }
        fn observing(self) -> Self {
            self.policies(|p| p.management_policy = ManagementPolicy::ObserveOnly)
        }
        fn removing_regions(self) -> Self {
            self.policies(|p| p.region_removal_policy = RegionRemovalPolicy::Remove)
        }
        fn setting_the_key(self) -> Self {
            self.policies(|p| p.sets_key = true)
        }
        fn setting_the_network(self) -> Self {
            self.policies(|p| p.sets_network = true)
        }
        fn setting_attributes(self) -> Self {
            self.policies(|p| p.sets_access_control_attributes = true)
        }
        fn under(self, units: &[&str]) -> Self {
            Self { units: units.iter().map(|u| u.to_string()).collect(), ..self }
        }
        fn reading_the_organization(self) -> Self {
            Self { asks: Asks::OrganizationReads, ..self }
        }
        fn admitted_by(self, grant: &'static str, role: Option<Credentials>) -> Self {
            Self { want: Some((grant, role)), ..self }
        }
    }

    #[test]
    fn grants_admit_by_namespace_account_policy_and_external_id() {
        let grants = [
            grant(
                "team-a",
                json!({
                    "namespaces": {"names": ["team-a"]},
                    "accounts": {"roleArns": [ROLE]},
                }),
            ),
            grant(
                "platform",
                json!({
                    "namespaces": {"selector": {"matchLabels": {"tier": "platform"}}},
                    "accounts": {"accountIds": ["555566667777"], "operatorCredentials": true},
                    "deletionPolicies": ["Retain", "Delete"],
                    "managementPolicies": ["Manage"],
                    "regionRemovalPolicies": ["Retain"],
                    "allowKeyChanges": false,
                }),
            ),
            grant(
                "team-c",
                json!({
                    "namespaces": {"names": ["team-c"]},
                    "accounts": {"roleArns": [ROLE]},
                    "allowNetworkChanges": true,
                    "allowAccessControlAttributeChanges": true,
                }),
            ),
            grant(
                "team-d",
                json!({
                    "namespaces": {"names": ["team-d"]},
                    "accounts": {"roleArns": [ROLE]},
                    "allowAccessControlAttributeChanges": true,
                }),
            ),
            grant(
                "sandboxes",
                json!({
                    "namespaces": {"names": ["sandboxes"]},
                    "accounts": {"organizationalUnits": ["ou-root-sandbox1"], "roleArns": [MANAGEMENT_ROLE]},
                    "managementPolicies": ["Manage"],
                }),
            ),
            grant(
                "defaulted",
                json!({
                    "namespaces": {"names": ["team-b"]},
                    "accounts": {"roleArns": [OTHER_ROLE]},
                    "defaultRole": {"roleArn": ROLE, "externalId": "ext-1"},
                    "requiredExternalId": "ext-1",
                }),
            ),
        ];
        let labels = BTreeMap::from([("tier".to_string(), "platform".to_string())]);
        let role = Some(credentials(ROLE, None));
        let cases = [
            case("exact role, Retain", "team-a", role.clone()).admitted_by("team-a", role.clone()),
            case("exact role, Delete is not granted", "team-a", role.clone()).deleting(),
            case("ObserveOnly is granted by default", "team-a", role.clone())
                .observing()
                .admitted_by("team-a", role.clone()),
            case("another account", "team-a", Some(credentials(OTHER_ROLE, None))),
            case("own credentials not granted", "team-a", None),
            case("namespace without a grant", "team-z", role.clone()),
            case("selector and account id", "platform-1", Some(credentials(OTHER_ROLE, None)))
                .deleting()
                .admitted_by("platform", Some(credentials(OTHER_ROLE, None))),
            case("selector and own credentials", "platform-1", None).admitted_by("platform", None),
            case("selector, ObserveOnly not granted", "platform-1", None).observing(),
            case("Region removal is granted by default", "team-a", role.clone())
                .removing_regions()
                .setting_the_key()
                .admitted_by("team-a", role.clone()),
            case("Region removal not granted", "platform-1", None).removing_regions(),
            case("a key change not granted", "platform-1", None).setting_the_key(),
            case("network controls are not granted by default", "team-a", role.clone()).setting_the_network(),
            case("attributes are not granted by default", "team-a", role.clone()).setting_attributes(),
            case("network controls and attributes where granted", "team-c", role.clone())
                .setting_the_network()
                .setting_attributes()
                .admitted_by("team-c", role.clone()),
            case("attributes granted, network not", "team-d", role.clone()).setting_the_network().setting_attributes(),
            case("default role for an object that names none", "team-b", None)
                .admitted_by("defaulted", Some(credentials(ROLE, Some("ext-1")))),
            case("named role with the required external id", "team-b", Some(credentials(OTHER_ROLE, Some("ext-1"))))
                .admitted_by("defaulted", Some(credentials(OTHER_ROLE, Some("ext-1")))),
            case("named role without the required external id", "team-b", Some(credentials(OTHER_ROLE, None))),
            case("naming the default role is granted too", "team-b", Some(credentials(ROLE, Some("ext-1"))))
                .admitted_by("defaulted", Some(credentials(ROLE, Some("ext-1")))),
            case("the default role still needs the required external id", "team-b", Some(credentials(ROLE, None))),
            case("an account under a granted OU", "sandboxes", role.clone())
                .under(&["ou-root-parent01", "ou-root-sandbox1"])
                .admitted_by("sandboxes", role.clone()),
            case("an account the reads did not find under it", "sandboxes", role.clone()).under(&["ou-root-other001"]),
            case("an account no read found", "sandboxes", role.clone()),
            case("OU grants carry the grant's policies", "sandboxes", role.clone())
                .under(&["ou-root-sandbox1"])
                .observing(),
            case("the organization's reader, granted by role", "sandboxes", Some(credentials(MANAGEMENT_ROLE, None)))
                .reading_the_organization()
                .admitted_by("sandboxes", Some(credentials(MANAGEMENT_ROLE, None))),
            case("reads need no deletion or management policy", "team-a", role.clone())
                .reading_the_organization()
                .admitted_by("team-a", role.clone()),
            case("reads through a role not granted", "team-a", Some(credentials(MANAGEMENT_ROLE, None)))
                .reading_the_organization(),
            case("reads never fall back to a grant's default role", "team-b", None).reading_the_organization(),
        ];
        let grants: Vec<&IdentityCenterAccountGrant> = grants.iter().collect();
        for case in cases {
            let namespace_labels = case.namespace.starts_with("platform").then_some(&labels);
            let request = Request {
                namespace: case.namespace,
                namespace_labels,
                role: case.role.as_ref(),
                account_units: &case.units,
                asks: case.asks,
            };
            let got = admit(&request, &grants);
            match (&case.want, &got) {
                (Some((grant, role)), Admission::Admitted { grant: got_grant, role: got_role }) => {
                    assert_eq!((grant, role), (&got_grant.as_str(), got_role), "{}", case.what);
                }
                (None, Admission::Refused { message }) => {
                    assert!(message.contains(&format!("Namespace {}", case.namespace)), "{}: {message}", case.what);
                }
                _ => panic!("{}: {got:?}", case.what),
            }
        }
    }

    #[test]
    fn a_refusal_says_what_was_asked_and_what_would_admit_it() {
        let grants = [grant("team-a", json!({"namespaces": {"names": ["team-a"]}, "accounts": {"roleArns": [ROLE]}}))];
        let role = credentials(OTHER_ROLE, None);
        let request = Request {
            namespace: "team-a",
            namespace_labels: None,
            role: Some(&role),
            account_units: &BTreeSet::new(),
            asks: Asks::Instance(InstancePolicies {
                deletion_policy: DeletionPolicy::Delete,
                management_policy: ManagementPolicy::Manage,
                region_removal_policy: RegionRemovalPolicy::Retain,
                sets_key: false,
                sets_network: true,
                sets_access_control_attributes: false,
            }),
        };
        let Admission::Refused { message } = admit(&request, &[&grants[0]]) else { panic!("refused") };
        for part in [
            "Namespace team-a",
            OTHER_ROLE,
            "account 555566667777",
            "deletionPolicy Delete",
            "team-a does not grant role",
            "spec.accounts.roleArns lists",
            ", spec.network: no",
            "whose allowNetworkChanges is true",
            "Nothing was sent to AWS",
        ] {
            assert!(message.contains(part), "{part:?} in {message}");
        }
        let unselected = Request { namespace: "team-z", ..request };
        let Admission::Refused { message } = admit(&unselected, &[&grants[0]]) else { panic!("refused") };
        assert!(message.contains("No IdentityCenterAccountGrant selects namespace team-z"), "{message}");
    }

    #[test]
    fn an_invalid_selector_selects_nothing() {
        let broken = grant(
            "broken",
            json!({
                "namespaces": {"selector": {"matchExpressions": [{"key": "tier", "operator": "Sometimes", "values": ["a"]}]}},
                "accounts": {"operatorCredentials": true},
            }),
        );
        let labels = BTreeMap::from([("tier".to_string(), "a".to_string())]);
        assert!(!selects_namespace(&broken, "x", Some(&labels)));
        let everything =
            grant("all", json!({"namespaces": {"selector": {}}, "accounts": {"operatorCredentials": true}}));
        assert!(selects_namespace(&everything, "x", Some(&labels)), "{{}} selects every namespace");
        assert!(!selects_namespace(&everything, "x", None), "a namespace not yet seen has no labels to match");
    }
}
