use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::api::NetworkConfiguration;
use crate::sso::{Encryption as KeyState, InstanceState, Region};

const GENERATION: i64 = 2;

/// The workflow started last: its name and the generation it was started for, a second ago.
type Last = Option<(&'static str, i64)>;

fn decide_with(spec: &Spec, aws: &Aws, calls_region: &str, last: Last) -> Verdict {
    let started = last.map(|(name, generation)| StartedWorkflow {
        name: name.into(),
        generation,
        started_at: Time("2026-11-30T09:00:00Z".parse().unwrap()),
    });
    let facts = Facts {
        instance: &aws.0,
        calls_region,
        generation: GENERATION,
        last: started.as_ref().map(|s| (s, Duration::from_secs(1))),
        recorded_network: None,
    };
    next(&spec.0, &facts)
}

use crate::fixtures::ARN;
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

    fn no_key(mut self) -> Self {
        self.0.encryption = None;
        self
    }

    fn no_regions(mut self) -> Self {
        self.0.regions.clear();
        self
    }

    fn network(mut self, network: NetworkConfiguration) -> Self {
        self.0.network = Some(network);
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

    fn network(mut self, network: NetworkConfiguration) -> Self {
        self.0.network = Some(network);
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
            assert_eq!(outcome.reason(), Reason::Updating);
            (Want::Wait, outcome.message().to_string())
        }
        Verdict::Start(workflow) => (Want::Start(workflow), String::new()),
        Verdict::Stalled(outcome) => (Want::Stalled(outcome.reason().as_str()), outcome.message().to_string()),
    }
}

#[test]
fn one_workflow_at_a_time_key_then_permission_sets_then_regions() {
    use EncryptionStatus::{Enabled, UpdateFailed, Updating};
    use RegionStatus::{Active, Adding, Removing};
    let mrk_enabled = || aws().key(cmk(MRK), Enabled, None);
    let failed_key = format!("SetKey {MRK}").leak() as &'static str;
    let cases: Vec<(&str, Spec, Aws, Last, Want, &str)> = vec![
        ("nothing asked", spec(), aws(), None, in_sync(&[]), ""),
        (
            "a key is UPDATING",
            spec().key(KeyType::AwsOwned, None),
            aws().key(cmk(MRK), Updating, None),
            None,
            Want::Wait,
            "UPDATING",
        ),
        (
            "a Region is ADDING",
            spec(),
            mrk_enabled().region("us-east-1", Adding),
            None,
            Want::Wait,
            "us-east-1 of instance",
        ),
        (
            "a Region is REMOVING",
            spec().regions(&["us-east-1"]),
            mrk_enabled().region("us-east-1", Removing),
            None,
            Want::Wait,
            "REMOVING",
        ),
        (
            "the key first",
            spec().key(KeyType::CustomerManaged, Some(MRK)).permission_sets(true).regions(&["us-east-1"]),
            aws(),
            None,
            Want::Start(Workflow::SetKey(cmk(MRK))),
            "",
        ),
        ("the key is in place", spec().key(KeyType::CustomerManaged, Some(MRK)), mrk_enabled(), None, in_sync(&[]), ""),
        (
            "back to the AWS owned key",
            spec().key(KeyType::AwsOwned, None),
            mrk_enabled(),
            None,
            Want::Start(Workflow::SetKey(EncryptionKey::AwsOwned)),
            "",
        ),
        (
            "UPDATE_FAILED stalls with AWS's reason once tried for this spec",
            spec().key(KeyType::CustomerManaged, Some(MRK)),
            aws().key(cmk(MRK), UpdateFailed, Some("KMS key is disabled")),
            Some((failed_key, GENERATION)),
            Want::Stalled("EncryptionUpdateFailed"),
            "KMS key is disabled",
        ),
        (
            "UPDATE_FAILED is tried once more after a spec change",
            spec().key(KeyType::CustomerManaged, Some(MRK)),
            aws().key(cmk(MRK), UpdateFailed, Some("KMS key is disabled")),
            Some((failed_key, GENERATION - 1)),
            Want::Start(Workflow::SetKey(cmk(MRK))),
            "",
        ),
        (
            "another key than the failed one, in a new spec, is sent",
            spec().key(KeyType::CustomerManaged, Some(SINGLE)),
            aws().key(cmk(MRK), UpdateFailed, Some("disabled")),
            Some((failed_key, GENERATION - 1)),
            Want::Start(Workflow::SetKey(cmk(SINGLE))),
            "",
        ),
        (
            "AWS naming the old key after a failure does not make the change go out again",
            spec().key(KeyType::CustomerManaged, Some(MRK)),
            aws().key(EncryptionKey::AwsOwned, UpdateFailed, Some("key policy")),
            Some((failed_key, GENERATION)),
            Want::Stalled("EncryptionUpdateFailed"),
            "key policy",
        ),
        (
            "a change AWS does not show yet is not sent twice",
            spec().key(KeyType::CustomerManaged, Some(MRK)),
            aws(),
            Some((failed_key, GENERATION)),
            Want::Wait,
            "does not show it yet",
        ),
        (
            "a key AWS does not report is set once",
            spec().key(KeyType::CustomerManaged, Some(MRK)),
            aws().no_key(),
            None,
            Want::Start(Workflow::SetKey(cmk(MRK))),
            "",
        ),
        (
            "a Region in a status this operator does not know is waited out",
            spec().regions(&["us-east-1"]),
            mrk_enabled().region("us-east-1", RegionStatus::Other("SUSPENDED".into())),
            None,
            Want::Wait,
            "SUSPENDED",
        ),
        (
            "no Regions reported: none added blindly",
            spec().regions(&["us-east-1"]),
            mrk_enabled().no_regions(),
            None,
            Want::Stalled("RegionsNotReported"),
            "",
        ),
        (
            "an UPDATE_FAILED multi-Region key carries no Region",
            spec().regions(&["us-east-1"]),
            aws().key(cmk(MRK), UpdateFailed, None),
            None,
            Want::Stalled("RegionsNeedMultiRegionKey"),
            "ENABLED",
        ),
        (
            "then permission sets",
            spec().key(KeyType::CustomerManaged, Some(MRK)).permission_sets(true).regions(&["us-east-1"]),
            mrk_enabled(),
            None,
            Want::Start(Workflow::EnablePermissionSets),
            "",
        ),
        ("permission sets already on", spec().permission_sets(true), aws().permission_sets(), None, in_sync(&[]), ""),
        (
            "permission sets cannot go back",
            spec().permission_sets(false),
            aws().permission_sets(),
            None,
            Want::Stalled("PermissionSetsCannotBeDisabled"),
            "cannot disable",
        ),
        (
            "then Regions, in spec order",
            spec().regions(&["us-east-1", "ap-south-1"]),
            mrk_enabled(),
            None,
            Want::Start(Workflow::AddRegion("us-east-1".into())),
            "",
        ),
        (
            "the next missing Region",
            spec().regions(&["us-east-1", "ap-south-1"]),
            mrk_enabled().region("us-east-1", Active),
            None,
            Want::Start(Workflow::AddRegion("ap-south-1".into())),
            "",
        ),
        (
            "every Region ACTIVE",
            spec().regions(&["us-east-1"]),
            mrk_enabled().region("us-east-1", Active),
            None,
            in_sync(&[]),
            "",
        ),
        (
            "Regions need a multi-Region key",
            spec().regions(&["us-east-1"]),
            aws().key(cmk(SINGLE), Enabled, None),
            None,
            Want::Stalled("RegionsNeedMultiRegionKey"),
            "us-east-1 cannot be added",
        ),
        (
            "the primary is not an additional Region",
            spec().regions(&[PRIMARY]),
            mrk_enabled(),
            None,
            Want::Stalled("PrimaryRegionListed"),
            "primary",
        ),
        (
            "an unlisted Region is retained by default",
            spec(),
            mrk_enabled().region("us-east-1", Active),
            None,
            in_sync(&["us-east-1"]),
            "",
        ),
        (
            "an unlisted Region is removed with the opt-in",
            spec().removing(),
            mrk_enabled().region("us-east-1", Active),
            None,
            Want::Start(Workflow::RemoveRegion("us-east-1".into())),
            "",
        ),
        (
            "Regions go before a key that cannot carry them",
            spec().key(KeyType::AwsOwned, None).removing(),
            mrk_enabled().region("us-east-1", Active),
            None,
            Want::Start(Workflow::RemoveRegion("us-east-1".into())),
            "",
        ),
        (
            "a key that would strand listed Regions stalls",
            spec().key(KeyType::CustomerManaged, Some(SINGLE)).removing().regions(&["us-east-1"]),
            mrk_enabled().region("us-east-1", Active),
            None,
            Want::Stalled("RegionsNeedMultiRegionKey"),
            "multi-Region",
        ),
        (
            "a key that would strand retained Regions stalls",
            spec().key(KeyType::AwsOwned, None),
            mrk_enabled().region("us-east-1", Active),
            None,
            Want::Stalled("RegionsNeedMultiRegionKey"),
            "regionRemovalPolicy Remove",
        ),
    ];
    for (name, spec, aws, last, want, fragment) in cases {
        let (got, message) = summary(decide_with(&spec, &aws, PRIMARY, last));
        assert_eq!(got, want, "{name}");
        assert!(message.contains(fragment), "{name}: {message}");
    }
}

#[test]
fn a_customer_managed_key_without_its_arn_is_a_stalled_spec() {
    let spec = spec().key(KeyType::CustomerManaged, None);
    let (got, message) = summary(decide_with(&spec, &aws(), PRIMARY, None));
    assert_eq!(got, Want::Stalled("InvalidSpec"));
    assert!(message.contains("kmsKeyArn"), "{message}");
}

#[test]
fn key_and_region_changes_go_to_the_primary_region_only() {
    let spec = spec().regions(&["us-east-1"]);
    let aws = aws().key(cmk(MRK), EncryptionStatus::Enabled, None);
    let (got, message) = summary(decide_with(&spec, &aws, "us-east-1", None));
    assert_eq!(got, Want::Stalled("NotPrimaryRegion"));
    assert!(message.contains("spec.region is eu-west-1"), "{message}");
    let (got, _) = summary(decide_with(&spec, &aws, PRIMARY, None));
    assert_eq!(got, Want::Start(Workflow::AddRegion("us-east-1".into())));
}

#[test]
fn the_same_workflow_goes_out_again_only_after_aws_had_time_to_show_it() {
    let spec = spec().key(KeyType::CustomerManaged, Some(MRK));
    let started = StartedWorkflow {
        name: format!("SetKey {MRK}"),
        generation: GENERATION,
        started_at: Time("2026-11-30T09:00:00Z".parse().unwrap()),
    };
    let aws = aws();
    for (ago, want) in [(REPEAT_AFTER / 2, Want::Wait), (REPEAT_AFTER, Want::Start(Workflow::SetKey(cmk(MRK))))] {
        let facts = Facts {
            instance: &aws.0,
            calls_region: PRIMARY,
            generation: GENERATION,
            last: Some((&started, ago)),
            recorded_network: None,
        };
        assert_eq!(summary(next(&spec.0, &facts)).0, want, "{ago:?} after");
    }
}

const VPC: &str = "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0";

fn vpce_only(ips: &[&str]) -> NetworkConfiguration {
    NetworkConfiguration {
        vpce_access_required: true,
        restrict_source_vpcs: vec![VPC.into()],
        allow_source_ips: ips.iter().map(|ip| ip.to_string()).collect(),
        exclude_application_arns: Vec::new(),
    }
}

#[test]
fn network_controls_are_the_spec_exactly_after_the_key_and_permission_sets() {
    let wanted = vpce_only(&["203.0.113.0/24", "198.51.100.7"]);
    let set = |network: &NetworkConfiguration| Want::Start(Workflow::SetNetwork(network.normalized()));
    let cases: Vec<(&str, Spec, Aws, Want)> = vec![
        ("absent: AWS's left as it is", spec(), aws().network(wanted.clone()), in_sync(&[])),
        ("never set in AWS", spec().network(wanted.clone()), aws(), set(&wanted)),
        (
            "the same, in another order",
            spec().network(wanted.clone()),
            aws().network(vpce_only(&["198.51.100.7", "203.0.113.0/24"])),
            in_sync(&[]),
        ),
        ("drifted", spec().network(wanted.clone()), aws().network(vpce_only(&["0.0.0.0/0"])), set(&wanted)),
        (
            "a list left out is emptied",
            spec().network(NetworkConfiguration { vpce_access_required: true, ..Default::default() }),
            aws().network(wanted.clone()),
            set(&NetworkConfiguration { vpce_access_required: true, ..Default::default() }),
        ),
        (
            "nothing restricted equals none reported",
            spec().network(NetworkConfiguration::default()),
            aws(),
            in_sync(&[]),
        ),
        (
            "waits for a key change",
            spec().network(wanted.clone()).key(KeyType::AwsOwned, None),
            aws().key(cmk(MRK), EncryptionStatus::Updating, None),
            Want::Wait,
        ),
        (
            "permission sets first",
            spec().network(wanted.clone()).permission_sets(true),
            aws(),
            Want::Start(Workflow::EnablePermissionSets),
        ),
        (
            "before Regions",
            spec().network(wanted.clone()).key(KeyType::CustomerManaged, Some(MRK)).regions(&["us-east-1"]),
            aws().key(cmk(MRK), EncryptionStatus::Enabled, None),
            set(&wanted),
        ),
    ];
    for (name, spec, aws, want) in cases {
        assert_eq!(summary(decide_with(&spec, &aws, PRIMARY, None)).0, want, "{name}");
    }
}

#[test]
fn drift_goes_back_at_once_and_what_aws_has_not_shown_yet_waits() {
    let wanted = vpce_only(&[]);
    let spec = spec().network(wanted.clone());
    let aws = aws().network(vpce_only(&["0.0.0.0/0"]));
    let sent = StartedWorkflow {
        name: Named(&Workflow::SetNetwork(wanted.clone())).to_string(),
        generation: GENERATION,
        started_at: Time("2026-11-30T09:00:00Z".parse().unwrap()),
    };
    let other = vpce_only(&["192.0.2.0/24"]);
    let cases = [
        (
            "seen in place, changed since: drift",
            Some(&wanted),
            Duration::from_secs(1),
            Want::Start(Workflow::SetNetwork(wanted.clone())),
        ),
        ("sent a second ago, not shown yet", Some(&other), Duration::from_secs(1), Want::Wait),
        ("never recorded, sent a second ago", None, Duration::from_secs(1), Want::Wait),
        (
            "not shown after REPEAT_AFTER: sent again",
            None,
            REPEAT_AFTER,
            Want::Start(Workflow::SetNetwork(wanted.clone())),
        ),
    ];
    for (name, recorded, ago, want) in cases {
        let facts = Facts {
            instance: &aws.0,
            calls_region: PRIMARY,
            generation: GENERATION,
            last: Some((&sent, ago)),
            recorded_network: recorded,
        };
        assert_eq!(summary(next(&spec.0, &facts)).0, want, "{name}");
    }
    assert!(sent.name.starts_with("SetNetwork ") && sent.name.len() == "SetNetwork ".len() + 16, "{}", sent.name);
    let (got, _) = summary(decide_with(&spec, &aws, "us-east-1", None));
    assert_eq!(got, Want::Stalled("NotPrimaryRegion"), "sent to the primary Region only");
}
