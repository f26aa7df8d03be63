"""boto3 (a botocore that knows PermissionSetsEnabled and the Region
operations) against an organization instance in the emulator: the key,
permission sets and Regions parse under the model, and refusals arrive as the
modeled exceptions with their Reason."""

import time

import botocore
import pytest
from conftest import DISABLED_KEY, ORG_ARN, client

MRK = "arn:aws:kms:eu-west-1:999999999999:key/mrk-0123456789abcdef0123456789abcdef"


def settle():
    time.sleep(0.5)


def test_botocore_knows_the_new_members():
    major, minor, patch = (int(part) for part in botocore.__version__.split(".")[:3])
    assert (major, minor, patch) >= (1, 43, 64), botocore.__version__


def test_key_permission_sets_and_regions_round_trip_under_the_model(organization_url):
    sso = client("sso-admin", organization_url, key="AKIA999999999999BOTO")
    described = sso.describe_instance(InstanceArn=ORG_ARN)
    assert described["PrimaryRegion"] == "eu-west-1"
    assert described["EncryptionConfigurationDetails"] == {"KeyType": "AWS_OWNED_KMS_KEY", "EncryptionStatus": "ENABLED"}
    assert described["PermissionSetsEnabled"] is False

    with pytest.raises(sso.exceptions.ValidationException) as both:
        sso.update_instance(
            InstanceArn=ORG_ARN,
            EncryptionConfiguration={"KeyType": "CUSTOMER_MANAGED_KEY", "KmsKeyArn": MRK},
            PermissionSetsEnabled=True,
        )
    assert "same request" in both.value.response["Error"]["Message"]
    with pytest.raises(sso.exceptions.ValidationException) as disabled:
        sso.update_instance(
            InstanceArn=ORG_ARN, EncryptionConfiguration={"KeyType": "CUSTOMER_MANAGED_KEY", "KmsKeyArn": DISABLED_KEY}
        )
    assert disabled.value.response["Reason"] == "KMS_DisabledException"

    sso.update_instance(InstanceArn=ORG_ARN, EncryptionConfiguration={"KeyType": "CUSTOMER_MANAGED_KEY", "KmsKeyArn": MRK})
    assert sso.describe_instance(InstanceArn=ORG_ARN)["EncryptionConfigurationDetails"]["EncryptionStatus"] == "UPDATING"
    with pytest.raises(sso.exceptions.ConflictException):
        sso.add_region(InstanceArn=ORG_ARN, RegionName="us-east-1")
    settle()
    sso.update_instance(InstanceArn=ORG_ARN, PermissionSetsEnabled=True)
    details = sso.describe_instance(InstanceArn=ORG_ARN)
    assert details["EncryptionConfigurationDetails"]["KmsKeyArn"] == MRK
    assert details["PermissionSetsEnabled"] is True

    assert sso.add_region(InstanceArn=ORG_ARN, RegionName="us-east-1")["Status"] == "ADDING"
    settle()
    region = sso.describe_region(InstanceArn=ORG_ARN, RegionName="us-east-1")
    assert (region["Status"], region["IsPrimaryRegion"]) == ("ACTIVE", False)
    assert region["AddedDate"].year >= 2026, "AddedDate parses as a timestamp"
    pages = list(sso.get_paginator("list_regions").paginate(InstanceArn=ORG_ARN, PaginationConfig={"PageSize": 1}))
    assert [r["RegionName"] for page in pages for r in page["Regions"]] == ["eu-west-1", "us-east-1"]
    listed = sso.list_instances()["Instances"][0]
    assert (listed["PrimaryRegion"], len(listed["Regions"])) == ("eu-west-1", 2)

    with pytest.raises(sso.exceptions.ValidationException):
        sso.remove_region(InstanceArn=ORG_ARN, RegionName="eu-west-1")
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        sso.remove_region(InstanceArn=ORG_ARN, RegionName="sa-east-1")
    assert sso.remove_region(InstanceArn=ORG_ARN, RegionName="us-east-1")["Status"] == "REMOVING"
    settle()
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        sso.describe_region(InstanceArn=ORG_ARN, RegionName="us-east-1")


def test_a_member_reads_the_organization_instance_and_changes_nothing(organization_url):
    member = client("sso-admin", organization_url, key="AKIA111122223333BOTO")
    assert member.describe_instance(InstanceArn=ORG_ARN)["OwnerAccountId"] == "999999999999"
    with pytest.raises(member.exceptions.AccessDeniedException):
        member.update_instance(InstanceArn=ORG_ARN, PermissionSetsEnabled=True)
    with pytest.raises(member.exceptions.AccessDeniedException):
        member.add_region(InstanceArn=ORG_ARN, RegionName="us-east-1")
