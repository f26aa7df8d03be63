//! The emulator's settings, from a YAML or JSON file or built in tests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::iam::IamConfig;
pub use crate::organizations::seed::{AccountDetails, AccountState, OrganizationSeed, SeedAccount, SeedUnit};

/// The account a request acts in when its access key is neither configured
/// nor carries 12 digits.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    /// Access key id -> account id. Keys not listed here act in the account
    /// spelled by the first 12 digits in a row in the key (`AKIA111122223333EXMP`
    /// -> 111122223333), else in `defaultAccount`.
    pub accounts: BTreeMap<String, String>,
    pub default_account: String,
    /// Organization management accounts: CreateInstance there is refused.
    /// The management account of `organization` is added to them.
    pub management_accounts: Vec<String>,
    /// How long a new instance stays CREATE_IN_PROGRESS.
    pub create_seconds: f64,
    /// How long a deleted instance stays DELETE_IN_PROGRESS before it is gone.
    pub delete_seconds: f64,
    /// How long a KMS key change stays UPDATING.
    pub encryption_seconds: f64,
    /// How long an added Region stays ADDING.
    pub region_add_seconds: f64,
    /// How long a removed Region stays REMOVING before it is gone.
    pub region_remove_seconds: f64,
    /// How long a new access control attribute configuration stays CREATION_IN_PROGRESS.
    pub access_control_attribute_seconds: f64,
    /// KMS key ARN -> how IAM Identity Center fails to use it.
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    pub unusable_kms_keys: BTreeMap<String, KmsKeyFault>,
    /// Creations that end CREATE_FAILED instead of ACTIVE.
    pub fail_creation: Vec<FailCreation>,
    /// Access control attribute configurations that end CREATION_FAILED
    /// instead of ENABLED, by the instance's account and name.
    pub fail_access_control_attributes: Vec<FailCreation>,
    /// Instances that exist from the start (for adoption, organization instances).
    pub instances: Vec<SeedInstance>,
    /// Role ARNs (or account ids) for which AssumeRole answers AccessDenied.
    pub deny_assume_role: Vec<String>,
    /// Role ARN -> the ExternalId its trust policy requires.
    pub external_ids: BTreeMap<String, String>,
    /// Caps the lifetime of AssumeRole credentials (seconds), to test expiry.
    pub max_session_seconds: Option<u64>,
    pub faults: Faults,
    /// Seed for fault injection and generated ids; random when absent.
    pub seed: Option<u64>,
    /// The call log keeps this many most recent calls.
    pub call_log_limit: usize,
    /// IAM-style authorization: identity policies (every call needs the
    /// actions AWS requires for it, allowed by the policy of its access key
    /// or role) and role trust policies (who may assume a role, on what terms).
    pub iam: Option<IamConfig>,
    /// Account id -> the id of its AWS Organizations organization: the
    /// values of `aws:PrincipalOrgID` (the caller's account) and
    /// `aws:ResourceOrgID` (the role's account). An account not listed is in
    /// no organization and has neither key. The members of `organization`
    /// are added to it (an entry that contradicts it is refused).
    pub account_organizations: BTreeMap<String, String>,
    /// An AWS Organizations organization that exists from the start.
    pub organization: Option<OrganizationSeed>,
    /// Every Organizations List* answer is preceded by an empty page with a
    /// NextToken, as AWS documents it may be.
    pub organization_empty_pages: bool,
    /// How long CreateAccount stays IN_PROGRESS.
    pub create_account_seconds: f64,
    /// How long a closed account stays PENDING_CLOSURE before it is CLOSED.
    pub close_account_seconds: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            accounts: BTreeMap::new(),
            default_account: DEFAULT_ACCOUNT.into(),
            management_accounts: Vec::new(),
            create_seconds: 2.0,
            delete_seconds: 2.0,
            encryption_seconds: 2.0,
            region_add_seconds: 2.0,
            region_remove_seconds: 2.0,
            access_control_attribute_seconds: 0.0,
            unusable_kms_keys: BTreeMap::new(),
            fail_creation: Vec::new(),
            fail_access_control_attributes: Vec::new(),
            instances: Vec::new(),
            deny_assume_role: Vec::new(),
            external_ids: BTreeMap::new(),
            max_session_seconds: None,
            faults: Faults::default(),
            seed: None,
            call_log_limit: 100_000,
            iam: None,
            account_organizations: BTreeMap::new(),
            organization: None,
            organization_empty_pages: false,
            create_account_seconds: 2.0,
            close_account_seconds: 2.0,
        }
    }
}

/// A creation rule: matches by account, by instance name, or both.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailCreation {
    pub account: Option<String>,
    pub name: Option<String>,
    pub reason: String,
}

impl FailCreation {
    /// Whether the rule applies to an instance of `account` named `name`.
    pub fn matches(&self, account: &str, name: Option<&str>) -> bool {
        self.account.as_deref().is_none_or(|a| a == account) && self.name.as_deref().is_none_or(|n| Some(n) == name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedInstance {
    pub account: String,
    pub region: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Fixed ARN; generated when absent.
    #[serde(default)]
    pub arn: Option<String>,
    /// Other accounts whose ListInstances shows it (an organization's members).
    #[serde(default)]
    pub visible_to: Vec<String>,
    /// A customer managed key already in use (ENABLED); the AWS owned key when absent.
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    #[serde(default)]
    pub permission_sets_enabled: bool,
    /// Additional Regions, already ACTIVE.
    #[serde(default)]
    pub regions: Vec<String>,
}

impl SeedInstance {
    /// An ACTIVE instance of `account` in `region`, with the AWS owned key, nothing else set.
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
            name: None,
            arn: None,
            visible_to: Vec::new(),
            kms_key_arn: None,
            permission_sets_enabled: false,
            regions: Vec::new(),
        }
    }
}

/// How a KMS key fails IAM Identity Center.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum KmsKeyFault {
    /// UpdateInstance is refused at once, with this exception Reason.
    Refuse(KmsRefusal),
    /// UpdateInstance is accepted; the change then ends UPDATE_FAILED with this EncryptionStatusReason.
    FailUpdate(String),
}

/// The Reason members of the model's exceptions that a KMS key causes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum KmsRefusal {
    KMS_AccessDeniedException,
    KMS_NotFoundException,
    KMS_DisabledException,
    KMS_InvalidKeyUsageException,
    KMS_InvalidStateException,
}

/// Faults injected before an operation runs. Changeable at run time.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Faults {
    /// Service-wide token bucket; an empty bucket answers ThrottlingException.
    pub rate_limit: Option<RateLimit>,
    pub rules: Vec<FaultRule>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

/// Applies to calls of `operation` (all when absent) from `account` (all when absent).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FaultRule {
    pub operation: Option<String>,
    pub account: Option<String>,
    /// Probability of ThrottlingException.
    pub throttle: f64,
    /// Probability of InternalServerException (HTTP 500).
    pub server_error: f64,
    /// Probability of closing the connection without an answer.
    pub drop: f64,
    /// Added before the operation runs.
    pub latency_ms: u64,
    /// Added after the operation took effect, before the answer: a client
    /// that gives up in between changed state without learning of it.
    pub delay_answer_ms: u64,
}

impl Config {
    pub fn from_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config: Self = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.validate().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// What the types alone cannot refuse: an organization that breaks the
    /// model's patterns or contradicts `accountOrganizations`.
    pub fn validate(&self) -> Result<(), String> {
        self.organization.as_ref().map_or(Ok(()), |seed| seed.check(&self.account_organizations))
    }

    /// The account an access key acts in.
    pub fn account_of(&self, access_key: &str) -> String {
        if let Some(account) = self.accounts.get(access_key) {
            return account.clone();
        }
        let bytes = access_key.as_bytes();
        let digits = bytes.windows(12).position(|w| w.iter().all(u8::is_ascii_digit));
        match digits {
            Some(start) => access_key[start..start + 12].to_string(),
            None => self.default_account.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_map_to_accounts() {
        let mut config = Config::default();
        config.accounts.insert("AKIAMANAGEMENTXXXXXX".into(), "999999999999".into());
        let cases = [
            ("AKIAMANAGEMENTXXXXXX", "999999999999"),
            ("AKIA111122223333EXMP", "111122223333"),
            ("ASIA444455556666ABCD", "444455556666"),
            ("test", DEFAULT_ACCOUNT),
            ("AKIA12345678901", DEFAULT_ACCOUNT),
        ];
        for (key, account) in cases {
            assert_eq!(config.account_of(key), account, "{key}");
        }
    }

    #[test]
    fn unusable_keys_read_as_yaml() {
        let yaml = "unusableKmsKeys:\n  arn:a: {refuse: KMS_DisabledException}\n  arn:b: {failUpdate: key policy}\n";
        let config: Config = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(config.unusable_kms_keys["arn:a"], KmsKeyFault::Refuse(KmsRefusal::KMS_DisabledException));
        assert_eq!(config.unusable_kms_keys["arn:b"], KmsKeyFault::FailUpdate("key policy".into()));
    }

    #[test]
    fn a_config_file_reads_as_yaml() {
        let yaml = "managementAccounts: ['999999999999']\ncreateSeconds: 0.5\nfaults:\n  rules:\n  - operation: DescribeInstance\n    throttle: 0.5\n";
        let config: Config = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(config.management_accounts, vec!["999999999999"]);
        assert_eq!(config.faults.rules[0].throttle, 0.5);
        assert!(serde_yaml::from_str::<Config>("unknownField: 1").is_err(), "typos are refused");
    }

    #[test]
    fn access_control_attribute_settings_read_as_yaml() {
        let yaml = "accessControlAttributeSeconds: 1.5\nfailAccessControlAttributes:\n- account: '111122223333'\n  reason: Attribute mapping rejected\n";
        let config: Config = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(config.access_control_attribute_seconds, 1.5);
        let rule = &config.fail_access_control_attributes[0];
        assert!(rule.matches("111122223333", Some("any name")) && !rule.matches("444455556666", None));
    }

    #[test]
    fn iam_trust_policies_principals_and_organizations_read_as_yaml() {
        let yaml = r#"
accountOrganizations: {'111122223333': o-exampleorgid, '444455556666': o-exampleorgid}
iam:
  principals: {AKIA111122223333OPRB: 'arn:aws:iam::111122223333:role/identity-center-operator'}
  trustPolicies:
    'arn:aws:iam::444455556666:role/identity-center-admin':
      Version: '2012-10-17'
      Statement:
      - Effect: Allow
        Principal: {AWS: 'arn:aws:iam::111122223333:role/identity-center-operator'}
        Action: [sts:AssumeRole, sts:TagSession]
        Condition: {StringEquals: {aws:RequestTag/kubernetes-namespace: team-a}}
"#;
        let config: Config = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(config.account_organizations["444455556666"], "o-exampleorgid");
        let iam = config.iam.unwrap();
        assert!(iam.policies.is_none(), "no identity policies: they are not checked");
        assert_eq!(iam.trust_policies.len(), 1);
        assert!(serde_yaml::from_str::<Config>("iam: {trustPolicy: {}}").is_err(), "typos are refused");
    }

    /// The first YAML example of a section of the README, loaded as settings.
    fn readme_example(section: &str) -> Config {
        let readme = include_str!("../README.md");
        let section = &readme[readme.find(section).expect("the section")..];
        let start = section.find("```yaml\n").expect("an example") + "```yaml\n".len();
        let example = &section[start..start + section[start..].find("```").expect("its end")];
        serde_yaml::from_str(example).unwrap()
    }

    #[test]
    fn the_readme_2026_11_example_loads() {
        let config = readme_example("## The 2026-11 additions");
        assert_eq!(config.access_control_attribute_seconds, 0.5);
        assert_eq!(config.fail_access_control_attributes[0].reason, "Attribute mapping rejected");
        assert_eq!(config.instances[0].region, "eu-west-1");
    }

    #[test]
    fn the_readme_organizations_example_loads() {
        let config = readme_example("## AWS Organizations");
        assert!(config.organization_empty_pages);
        let organization = config.organization.as_ref().unwrap();
        assert_eq!(organization.accounts().len(), 4);
        assert_eq!(organization.service_control_policy_denies["ou-ex01-sandbox1"], ["sso:CreateInstance"]);
        assert_eq!(organization.accounts()[1].state, AccountState::Suspended);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn an_unsound_organization_is_refused() {
        let unsound = [
            ("organization: {managementAccount: '1'}", "managementAccount"),
            ("organization: {managementAccount: '999999999999', accounts: ['111122223333', '111122223333']}", "twice"),
            ("organization: {managementAccount: '999999999999', delegatedAdministrators: ['111122223333']}", "not in"),
            (
                "organization: {managementAccount: '999999999999', serviceControlPolicyDenies: {'ou-ab12-cdefghij': []}}",
                "OU id",
            ),
        ];
        for (yaml, fragment) in unsound {
            let config: Config = serde_yaml::from_str(yaml).unwrap();
            let error = config.validate().unwrap_err();
            assert!(error.contains(fragment), "{yaml}: {error}");
        }
    }

    #[test]
    fn the_readme_iam_example_loads() {
        let config = readme_example("## IAM authorization");
        let iam = config.iam.unwrap();
        assert_eq!(iam.policies.map(|p| p.len()), Some(2));
        assert_eq!(iam.trust_policies.len(), 1);
        assert_eq!(config.account_organizations.len(), 2);
    }
}
