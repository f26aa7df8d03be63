//! Every reason a condition of an IdentityCenterInstance or an
//! IdentityCenterInstanceSet can carry, named
//! once. The README's table of errors lists exactly the [`Shown::AsProblem`]
//! ones; a test holds the two together.

/// How a reason reaches the user, which decides where it is documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Work going as it should: `kubectl get` shows it, nothing is asked of the user.
    AsProgress,
    /// Something the user may have to act on: in the README's table of errors, with what to do.
    AsProblem,
}

macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $name:ident: $shown:ident,)*) => {
        /// A condition reason, as it appears in `.status.conditions[].reason`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[doc = $doc])* $name,)*
        }

        impl Reason {
            pub const ALL: &'static [Reason] = &[$(Reason::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$name => stringify!($name),)*
                }
            }

            pub fn shown(self) -> Shown {
                match self {
                    $(Reason::$name => Shown::$shown,)*
                }
            }
        }
    };
}

reasons! {
    /// ACTIVE, the spec applied.
    InstanceActive: AsProgress,
    /// ObserveOnly: the instance was read, nothing written.
    Observed: AsProgress,
    /// CreateInstance was answered; waiting for ACTIVE.
    CreateRequested: AsProgress,
    Creating: AsProgress,
    /// An instance created before a crash was found and recorded.
    InstanceRecovered: AsProgress,
    Deleting: AsProgress,
    /// A key, permission sets or Region workflow runs.
    Updating: AsProgress,
    /// Synced after a reconcile that reached AWS.
    ReconcileSucceeded: AsProgress,
    /// Synced of an object under `identitycenter.dev/paused`.
    ReconcilePaused: AsProgress,
    /// Stalled=False.
    NotStalled: AsProgress,
    /// An instance set: every account has a Ready instance of the current template.
    AllInstancesReady: AsProgress,
    /// An instance set: children are being created, changed or let go.
    RollingOut: AsProgress,
    /// An instance set: its OUs have not been read yet.
    ReadingOrganization: AsProgress,

    ValidationFailed: AsProblem,
    ManagementAccount: AsProblem,
    InstanceAlreadyExists: AsProblem,
    /// The account's one instance lives in another Region than this object's.
    InstanceInAnotherRegion: AsProblem,
    AccountAlreadyManaged: AsProblem,
    CreateFailed: AsProblem,
    ServiceQuotaExceeded: AsProblem,
    InstanceNotFound: AsProblem,
    RegionChanged: AsProblem,
    InstanceArnMismatch: AsProblem,
    RegionUnknown: AsProblem,
    AccountChanged: AsProblem,
    NotPermitted: AsProblem,
    NotOwnedByTargetAccount: AsProblem,
    ExportConflict: AsProblem,
    ExportFailed: AsProblem,
    RestoreNotConfirmed: AsProblem,
    InvalidSpec: AsProblem,
    /// A lifecycle state this operator does not know; polled as creation is.
    UnknownState: AsProblem,
    InvalidObject: AsProblem,
    EncryptionUpdateFailed: AsProblem,
    KmsKeyUnusable: AsProblem,
    PermissionSetsCannotBeDisabled: AsProblem,
    RegionsNeedMultiRegionKey: AsProblem,
    PrimaryRegionListed: AsProblem,
    NotPrimaryRegion: AsProblem,
    RegionsNotReported: AsProblem,
    /// AWS ended the attribute-based access control configuration CREATION_FAILED.
    AccessControlAttributesFailed: AsProblem,
    /// An instance set: more children failed than spec.rollout.failureTolerance allows.
    FailureToleranceExceeded: AsProblem,
    /// An instance set: some children failed, within the tolerance.
    InstancesFailed: AsProblem,
    /// An instance set: AWS Organizations refused to list the OUs.
    OrganizationsAccessDenied: AsProblem,
    OrganizationsNotInUse: AsProblem,
    OrganizationalUnitNotFound: AsProblem,
    AccessDenied: AsProblem,
    CredentialsUnavailable: AsProblem,
    Throttled: AsProblem,
    AwsInternalError: AsProblem,
    AwsUnreachable: AsProblem,
    Conflict: AsProblem,
    ResourceNotFound: AsProblem,
    AwsError: AsProblem,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The reasons in the first column of the README's "Errors, by condition reason" table.
    fn readme_error_reasons() -> BTreeSet<String> {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let table = readme.split("### Errors, by condition reason").nth(1).expect("the README has the table");
        let rows = table.lines().skip_while(|line| !line.starts_with('|')).take_while(|line| line.starts_with('|'));
        let first_cells = rows.skip(2).map(|row| row.split('|').nth(1).unwrap_or_default().to_string());
        let names = first_cells
            .flat_map(|cell| cell.split(',').map(|n| n.trim().trim_matches('`').to_string()).collect::<Vec<_>>());
        names.collect()
    }

    #[test]
    fn the_readme_documents_every_problem_reason_and_no_other() {
        let problems: BTreeSet<String> =
            Reason::ALL.iter().filter(|r| r.shown() == Shown::AsProblem).map(|r| r.to_string()).collect();
        let documented = readme_error_reasons();
        let undocumented: Vec<_> = problems.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&problems).collect();
        assert!(undocumented.is_empty(), "reasons the README's table of errors lacks: {undocumented:?}");
        assert!(unknown.is_empty(), "the README's table of errors names reasons the code never reports: {unknown:?}");
    }

    #[test]
    fn a_reason_reads_as_its_name() {
        assert_eq!(Reason::InstanceAlreadyExists.as_str(), "InstanceAlreadyExists");
        assert_eq!(Reason::ALL.len(), Reason::ALL.iter().map(|r| r.as_str()).collect::<BTreeSet<_>>().len());
    }
}
