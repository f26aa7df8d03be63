use super::*;
use crate::sso::{Encryption as KeyState, InstanceState, Region};

const ARN: &str = "arn:aws:sso:::instance/ssoins-1111111111111111";
const PRIMARY: &str = "eu-west-1";
const MRK: &str = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef";
const SINGLE: &str = "arn:aws:kms:eu-west-1:111122223333:key/01234567-89ab-cdef-0123-456789abcdef";

fn cmk(arn: &str) -> EncryptionKey {
    EncryptionKey::CustomerManaged { kms_key_arn: arn.into() }
}

/// An ACTIVE organization instance as AWS first shows it: the AWS owned key,
/// no permission sets, only its primary Region.
struct Aws(Instance);

fn aws() -> Aws {
    Aws(Instance {
        encryption: Some(KeyState { key: EncryptionKey::AwsOwned, status: EncryptionStatus::Enabled, reason: None }),
        permission_sets_enabled: Some(false),
        primary_region: Some(PRIMARY.into()),
        ..Instance::new(ARN, InstanceState::Active)
    })
    .region(PRIMARY, RegionStatus::Active)
}

impl Aws {
    fn key(mut self, key: EncryptionKey, status: EncryptionStatus, reason: Option<&str>) -> Self {
        self.0.encryption = Some(KeyState { key, status, reason: reason.map(Into::into) });
        self
    }

    fn permission_sets(mut self) -> Self {
        self.0.permission_sets_enabled = Some(true);
        self
    }

    fn region(mut self, name: &str, status: RegionStatus) -> Self {
        let primary = name == PRIMARY;
        self.0.regions.push(Region { name: name.into(), status, added_date: None, primary });
        self
    }
}

struct Spec(IdentityCenterInstanceSpec);

fn spec() -> Spec {
    Spec(IdentityCenterInstanceSpec { instance_arn: Some(ARN.into()), ..Default::default() })
}

impl Spec {
    fn key(mut self, key_type: KeyType, arn: Option<&str>) -> Self {
        self.0.encryption = Some(Encryption { key_type, kms_key_arn: arn.map(Into::into) });
        self
    }

    fn permission_sets(mut self, enabled: bool) -> Self {
        self.0.permission_sets_enabled = Some(enabled);
        self
    }

    fn regions(mut self, regions: &[&str]) -> Self {
        self.0.regions = regions.iter().map(|r| r.to_string()).collect();
        self
    }

    fn removing(mut self) -> Self {
        self.0.region_removal_policy = RegionRemovalPolicy::Remove;
        self
    }
}

/// What a verdict is, in a word a table can hold.
#[derive(Debug, PartialEq)]
enum Want {
    InSync(Vec<String>),
    Wait,
    Start(Workflow),
    Stalled(&'static str),
}

fn in_sync(retained: &[&str]) -> Want {
    Want::InSync(retained.iter().map(|r| r.to_string()).collect())
}

fn summary(verdict: Verdict) -> (Want, String) {
    match verdict {
        Verdict::InSync { retained } => (Want::InSync(retained), String::new()),
        Verdict::Wait(outcome) => {
            assert_eq!(outcome.reason(), UPDATING);
            (Want::Wait, outcome.message().to_string())
        }
        Verdict::Start(workflow) => (Want::Start(workflow), String::new()),
        Verdict::Stalled(outcome) => (Want::Stalled(outcome.reason()), outcome.message().to_string()),
    }
}

#[test]
fn one_workflow_at_a_time_key_then_permission_sets_then_regions() {
    use EncryptionStatus::{Enabled, UpdateFailed, Updating};
    use RegionStatus::{Active, Adding, Removing};
    let mrk_enabled = || aws().key(cmk(MRK), Enabled, None);
    let cases: Vec<(&str, Spec, Aws, bool, Want, &str)> = vec![
        ("nothing asked", spec(), aws(), false, in_sync(&[]), ""),
        (
            "a key is UPDATING",
            spec().key(KeyType::AwsOwned, None),
            aws().key(cmk(MRK), Updating, None),
            false,
            Want::Wait,
            "UPDATING",
        ),
        (
            "a Region is ADDING",
            spec(),
            mrk_enabled().region("us-east-1", Adding),
            false,
            Want::Wait,
            "us-east-1 of instance",
        ),
        (
            "a Region is REMOVING",
            spec().regions(&["us-east-1"]),
            mrk_enabled().region("us-east-1", Removing),
            false,
            Want::Wait,
            "REMOVING",
        ),
        (
            "the key first",
            spec().key(KeyType::CustomerManaged, Some(MRK)).permission_sets(true).regions(&["us-east-1"]),
            aws(),
            false,
            Want::Start(Workflow::SetKey(cmk(MRK))),
            "",
        ),
        (
            "the key is in place",
            spec().key(KeyType::CustomerManaged, Some(MRK)),
            mrk_enabled(),
            false,
            in_sync(&[]),
            "",
        ),
        (
            "back to the AWS owned key",
            spec().key(KeyType::AwsOwned, None),
            mrk_enabled(),
            false,
            Want::Start(Workflow::SetKey(EncryptionKey::AwsOwned)),
            "",
        ),
        (
            "UPDATE_FAILED stalls with AWS's reason",
            spec().key(KeyType::CustomerManaged, Some(MRK)),
            aws().key(cmk(MRK), UpdateFailed, Some("KMS key is disabled")),
            false,
            Want::Stalled("EncryptionUpdateFailed"),
            "KMS key is disabled",
        ),
        (
            "UPDATE_FAILED is tried again after a spec change",
            spec().key(KeyType::CustomerManaged, Some(MRK)),
            aws().key(cmk(MRK), UpdateFailed, Some("KMS key is disabled")),
            true,
            Want::Start(Workflow::SetKey(cmk(MRK))),
            "",
        ),
        (
            "another key than the failed one is sent at once",
            spec().key(KeyType::CustomerManaged, Some(SINGLE)),
            aws().key(cmk(MRK), UpdateFailed, Some("disabled")),
            false,
            Want::Start(Workflow::SetKey(cmk(SINGLE))),
            "",
        ),
        (
            "then permission sets",
            spec().key(KeyType::CustomerManaged, Some(MRK)).permission_sets(true).regions(&["us-east-1"]),
            mrk_enabled(),
            false,
            Want::Start(Workflow::EnablePermissionSets),
            "",
        ),
        ("permission sets already on", spec().permission_sets(true), aws().permission_sets(), false, in_sync(&[]), ""),
        (
            "permission sets cannot go back",
            spec().permission_sets(false),
            aws().permission_sets(),
            false,
            Want::Stalled("PermissionSetsCannotBeDisabled"),
            "cannot disable",
        ),
        (
            "then Regions, in spec order",
            spec().regions(&["us-east-1", "ap-south-1"]),
            mrk_enabled(),
            false,
            Want::Start(Workflow::AddRegion("us-east-1".into())),
            "",
        ),
        (
            "the next missing Region",
            spec().regions(&["us-east-1", "ap-south-1"]),
            mrk_enabled().region("us-east-1", Active),
            false,
            Want::Start(Workflow::AddRegion("ap-south-1".into())),
            "",
        ),
        (
            "every Region ACTIVE",
            spec().regions(&["us-east-1"]),
            mrk_enabled().region("us-east-1", Active),
            false,
            in_sync(&[]),
            "",
        ),
        (
            "Regions need a multi-Region key",
            spec().regions(&["us-east-1"]),
            aws().key(cmk(SINGLE), Enabled, None),
            false,
            Want::Stalled("RegionsNeedMultiRegionKey"),
            "us-east-1 cannot be added",
        ),
        (
            "the primary is not an additional Region",
            spec().regions(&[PRIMARY]),
            mrk_enabled(),
            false,
            Want::Stalled("PrimaryRegionListed"),
            "primary",
        ),
        (
            "an unlisted Region is retained by default",
            spec(),
            mrk_enabled().region("us-east-1", Active),
            false,
            in_sync(&["us-east-1"]),
            "",
        ),
        (
            "an unlisted Region is removed with the opt-in",
            spec().removing(),
            mrk_enabled().region("us-east-1", Active),
            false,
            Want::Start(Workflow::RemoveRegion("us-east-1".into())),
            "",
        ),
        (
            "Regions go before a key that cannot carry them",
            spec().key(KeyType::AwsOwned, None).removing(),
            mrk_enabled().region("us-east-1", Active),
            false,
            Want::Start(Workflow::RemoveRegion("us-east-1".into())),
            "",
        ),
        (
            "a key that would strand listed Regions stalls",
            spec().key(KeyType::CustomerManaged, Some(SINGLE)).removing().regions(&["us-east-1"]),
            mrk_enabled().region("us-east-1", Active),
            false,
            Want::Stalled("RegionsNeedMultiRegionKey"),
            "multi-Region",
        ),
        (
            "a key that would strand retained Regions stalls",
            spec().key(KeyType::AwsOwned, None),
            mrk_enabled().region("us-east-1", Active),
            false,
            Want::Stalled("RegionsNeedMultiRegionKey"),
            "regionRemovalPolicy Remove",
        ),
    ];
    for (name, spec, aws, retry, want, fragment) in cases {
        let (got, message) = summary(next(&spec.0, &aws.0, PRIMARY, retry));
        assert_eq!(got, want, "{name}");
        assert!(message.contains(fragment), "{name}: {message}");
    }
}

#[test]
fn a_customer_managed_key_without_its_arn_is_a_stalled_spec() {
    let spec = spec().key(KeyType::CustomerManaged, None);
    let (got, message) = summary(next(&spec.0, &aws().0, PRIMARY, false));
    assert_eq!(got, Want::Stalled("InvalidSpec"));
    assert!(message.contains("kmsKeyArn"), "{message}");
}
