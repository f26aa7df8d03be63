"""boto3 with a botocore that models the SSO Admin additions of 2026-11
(>= 1.44.8) against the emulator: UpdateInstance's NetworkConfiguration,
DescribeInstance's NetworkConfigurationDetails and IdentityStoreArn,
ListInstances' RegionScope, and instance attribute-based access control.
Constraints are asserted as a user sees them: some botocore refuses before
sending (required members, minimum lengths), the rest the emulator refuses."""

import itertools
import re
import time

import boto3
import botocore
import pytest
from botocore.exceptions import ParamValidationError
from conftest import client, emulator

SDK_MINIMUM = (1, 44, 8)
OWNER_ELSEWHERE = "555566667777"
VPC = "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0"
APPLICATION = "arn:aws:sso::111122223333:application/ssoins-0123456789abcdef/apl-0123456789abcdef"
IDENTITY_STORE_ARN = re.compile(r"^arn:aws:identitystore::(\d{12}):identitystore/(d-[0-9a-f]{10})$")
ABAC_SECONDS = 0.3

accounts = itertools.count(200000000000)


def seeded_instances() -> str:
    """Account 555566667777's own instance in eu-west-1, and eleven it sees in other Regions."""
    lines = [f"- {{account: '{OWNER_ELSEWHERE}', region: eu-west-1}}"]
    for i in range(11):
        region = ("us-east-1", "ap-south-1")[i % 2]
        lines.append(f"- {{account: '9999999999{i:02d}', region: {region}, visibleTo: ['{OWNER_ELSEWHERE}']}}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    yield from emulator(
        tmp_path_factory,
        "network-and-attributes",
        f"createSeconds: 0.2\naccessControlAttributeSeconds: {ABAC_SECONDS}\n"
        "failAccessControlAttributes:\n- {name: doomed-abac, reason: Attribute mapping rejected}\n"
        f"instances:\n{seeded_instances()}\n",
    )


def validating_client(url: str, key: str, region: str = "eu-west-1"):
    """A client as users have it: botocore validates parameters before sending."""
    return boto3.client(
        "sso-admin",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key="secret",
        config=boto3.session.Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def new_account_key() -> str:
    return f"AKIA{next(accounts)}TEST"


def create_active(sso, name: str = "platform") -> str:
    arn = sso.create_instance(Name=name, ClientToken=f"token-{name}")["InstanceArn"]
    for _ in range(50):
        if sso.describe_instance(InstanceArn=arn)["Status"] == "ACTIVE":
            return arn
        time.sleep(0.1)
    raise AssertionError(f"{arn} never became ACTIVE")


def error_message(raised) -> str:
    return raised.value.response["Error"]["Message"]


def test_botocore_models_the_additions():
    for module in (boto3, botocore):
        version = tuple(int(part) for part in module.__version__.split(".")[:3])
        assert version >= SDK_MINIMUM, f"{module.__name__} {module.__version__}"
    model = botocore.session.get_session().get_service_model("sso-admin")
    assert "NetworkConfiguration" in model.operation_model("UpdateInstance").input_shape.members
    assert "RegionScope" in model.operation_model("ListInstances").input_shape.members


def test_network_configuration_is_set_replaced_whole_and_described(url):
    sso = validating_client(url, new_account_key())
    arn = create_active(sso)
    described = sso.describe_instance(InstanceArn=arn)
    assert "NetworkConfigurationDetails" not in described, "absent until first set"
    owner, store = IDENTITY_STORE_ARN.match(described["IdentityStoreArn"]).groups()
    assert (owner, store) == (described["OwnerAccountId"], described["IdentityStoreId"])

    full = {
        "VpceAccessRequired": True,
        "RestrictSourceVpcs": [VPC],
        "AllowSourceIps": ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"],
        "ExcludeApplicationArns": [APPLICATION],
    }
    sso.update_instance(InstanceArn=arn, NetworkConfiguration=full)
    assert sso.describe_instance(InstanceArn=arn)["NetworkConfigurationDetails"] == full

    narrower = {"VpceAccessRequired": True, "AllowSourceIps": ["203.0.113.0/24"], "RestrictSourceVpcs": []}
    sso.update_instance(InstanceArn=arn, NetworkConfiguration=narrower, Name="renamed")
    described = sso.describe_instance(InstanceArn=arn)
    assert described["NetworkConfigurationDetails"] == {
        "VpceAccessRequired": True,
        "AllowSourceIps": ["203.0.113.0/24"],
    }, "omitted and empty lists are cleared"
    assert described["Name"] == "renamed"
    sso.update_instance(InstanceArn=arn, NetworkConfiguration={"VpceAccessRequired": False, "AllowSourceIps": ["10.0.0.0/8"]})
    off = sso.describe_instance(InstanceArn=arn)["NetworkConfigurationDetails"]
    assert off == {"VpceAccessRequired": False}, "no VPC endpoint required clears every list"
    assert sso.list_instances()["Instances"][0]["IdentityStoreArn"] == described["IdentityStoreArn"]


def test_one_kind_of_change_per_update(url):
    sso = validating_client(url, new_account_key())
    arn = create_active(sso)
    network = {"VpceAccessRequired": True}
    with pytest.raises(sso.exceptions.ValidationException) as two:
        sso.update_instance(InstanceArn=arn, NetworkConfiguration=network, PermissionSetsEnabled=True)
    assert error_message(two) == "PermissionSetsEnabled and NetworkConfiguration cannot be updated in the same request"
    with pytest.raises(sso.exceptions.ValidationException) as three:
        sso.update_instance(
            InstanceArn=arn,
            NetworkConfiguration=network,
            PermissionSetsEnabled=True,
            EncryptionConfiguration={"KeyType": "AWS_OWNED_KMS_KEY"},
        )
    assert error_message(three).startswith("EncryptionConfiguration, PermissionSetsEnabled and NetworkConfiguration")
    assert "NetworkConfigurationDetails" not in sso.describe_instance(InstanceArn=arn), "nothing changed"


def test_network_constraints_as_a_user_sees_them(url):
    key = new_account_key()
    sso = validating_client(url, key)
    arn = create_active(sso)

    # botocore refuses what its validator checks (required members, minimum lengths) before sending.
    with pytest.raises(ParamValidationError, match="VpceAccessRequired"):
        sso.update_instance(InstanceArn=arn, NetworkConfiguration={"AllowSourceIps": ["10.0.0.0/8"]})
    with pytest.raises(ParamValidationError, match="valid min length: 43"):
        sso.update_instance(
            InstanceArn=arn, NetworkConfiguration={"VpceAccessRequired": True, "RestrictSourceVpcs": ["arn:aws:ec2"]}
        )

    # Maximum counts and patterns are the service's to refuse.
    with pytest.raises(sso.exceptions.ValidationException) as too_many:
        sso.update_instance(
            InstanceArn=arn, NetworkConfiguration={"VpceAccessRequired": True, "AllowSourceIps": ["10.0.0.1"] * 51}
        )
    assert "at 'networkConfiguration.allowSourceIps' failed to satisfy constraint" in error_message(too_many)
    assert "less than or equal to 50" in error_message(too_many)
    with pytest.raises(sso.exceptions.ValidationException) as bad_cidr:
        sso.update_instance(
            InstanceArn=arn, NetworkConfiguration={"VpceAccessRequired": True, "AllowSourceIps": ["10.0.0.0/33"]}
        )
    assert "Value '10.0.0.0/33' at 'networkConfiguration.allowSourceIps.1'" in error_message(bad_cidr)
    with pytest.raises(sso.exceptions.ValidationException) as bad_application:
        sso.update_instance(
            InstanceArn=arn,
            NetworkConfiguration={"VpceAccessRequired": True, "ExcludeApplicationArns": ["arn:aws:sso::apps:x"]},
        )
    assert "'networkConfiguration.excludeApplicationArns.1'" in error_message(bad_application)

    # Without botocore's validation, the service words the same refusal.
    unchecked = client("sso-admin", url, key=key)
    with pytest.raises(unchecked.exceptions.ValidationException) as missing:
        unchecked.update_instance(InstanceArn=arn, NetworkConfiguration={"AllowSourceIps": ["10.0.0.0/8"]})
    assert "Value null at 'networkConfiguration.vpceAccessRequired'" in error_message(missing)


def test_region_scope_and_one_instance_per_account_across_regions(url):
    sso = validating_client(url, f"AKIA{OWNER_ELSEWHERE}TEST", region="us-east-1")
    with pytest.raises(sso.exceptions.ConflictException) as conflict:
        sso.create_instance(ClientToken="second-region")
    assert error_message(conflict) == (
        "An instance already exists in this account. "
        "You can create only one instance per account and across all AWS Regions."
    )

    here = sso.list_instances()["Instances"]
    assert len(here) == 6 and all(i["PrimaryRegion"] == "us-east-1" for i in here), "CURRENT_REGION by default"
    assert sso.list_instances(RegionScope="CURRENT_REGION")["Instances"] == here

    pages = list(sso.get_paginator("list_instances").paginate(RegionScope="ALL_REGIONS"))
    assert [len(page["Instances"]) for page in pages] == [10, 2], "at most 10 instances a page"
    everywhere = [instance for page in pages for instance in page["Instances"]]
    own = [i for i in everywhere if i["OwnerAccountId"] == OWNER_ELSEWHERE]
    assert [(i["PrimaryRegion"], [r["RegionName"] for r in i["Regions"]]) for i in own] == [("eu-west-1", ["eu-west-1"])]
    assert {i["PrimaryRegion"] for i in everywhere} == {"eu-west-1", "us-east-1", "ap-south-1"}
    assert all(IDENTITY_STORE_ARN.match(i["IdentityStoreArn"]) for i in everywhere)

    with pytest.raises(sso.exceptions.ValidationException) as scope:
        sso.list_instances(RegionScope="EVERYWHERE")
    assert "Member must satisfy enum value set: [CURRENT_REGION, ALL_REGIONS]" in error_message(scope)


def attributes(*pairs):
    return {"AccessControlAttributes": [{"Key": key, "Value": {"Source": [source]}} for key, source in pairs]}


def test_access_control_attributes_lifecycle(url):
    sso = validating_client(url, new_account_key())
    arn = create_active(sso)
    describe = sso.describe_instance_access_control_attribute_configuration
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        describe(InstanceArn=arn)
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        sso.update_instance_access_control_attribute_configuration(
            InstanceArn=arn, InstanceAccessControlAttributeConfiguration=attributes(("team", "x"))
        )
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        sso.delete_instance_access_control_attribute_configuration(InstanceArn=arn)

    configuration = attributes(("team", "${path:enterprise.department}"), ("cost-center", "${path:enterprise.costCenter}"))
    sso.create_instance_access_control_attribute_configuration(
        InstanceArn=arn, InstanceAccessControlAttributeConfiguration=configuration
    )
    creating = describe(InstanceArn=arn)
    assert creating["Status"] == "CREATION_IN_PROGRESS"
    assert creating["InstanceAccessControlAttributeConfiguration"] == configuration
    with pytest.raises(sso.exceptions.ConflictException):
        sso.create_instance_access_control_attribute_configuration(
            InstanceArn=arn, InstanceAccessControlAttributeConfiguration=configuration
        )
    with pytest.raises(sso.exceptions.ConflictException):
        sso.update_instance_access_control_attribute_configuration(
            InstanceArn=arn, InstanceAccessControlAttributeConfiguration=attributes(("team", "y"))
        )
    time.sleep(ABAC_SECONDS + 0.2)
    assert describe(InstanceArn=arn)["Status"] == "ENABLED"

    replacement = attributes(("project", "${path:enterprise.division}"))
    sso.update_instance_access_control_attribute_configuration(
        InstanceArn=arn, InstanceAccessControlAttributeConfiguration=replacement
    )
    assert describe(InstanceArn=arn)["InstanceAccessControlAttributeConfiguration"] == replacement
    sso.delete_instance_access_control_attribute_configuration(InstanceArn=arn)
    with pytest.raises(sso.exceptions.ResourceNotFoundException):
        describe(InstanceArn=arn)


def test_access_control_attributes_refusals_and_failure(url):
    sso = validating_client(url, new_account_key())
    arn = create_active(sso, name="doomed-abac")
    create = sso.create_instance_access_control_attribute_configuration
    with pytest.raises(sso.exceptions.ValidationException) as duplicate:
        create(InstanceArn=arn, InstanceAccessControlAttributeConfiguration=attributes(("team", "a"), ("team", "b")))
    assert "Duplicate access control attribute key team" in error_message(duplicate)
    with pytest.raises(ParamValidationError, match="valid min length: 1"):
        create(InstanceArn=arn, InstanceAccessControlAttributeConfiguration=attributes(("", "a")))
    two_sources = {"AccessControlAttributes": [{"Key": "k", "Value": {"Source": ["a", "b"]}}]}
    with pytest.raises(sso.exceptions.ValidationException) as sources:
        create(InstanceArn=arn, InstanceAccessControlAttributeConfiguration=two_sources)
    assert "accessControlAttributes.1.value.source" in error_message(sources)

    stranger = validating_client(url, new_account_key())
    with pytest.raises(stranger.exceptions.AccessDeniedException):
        stranger.describe_instance_access_control_attribute_configuration(InstanceArn=arn)

    create(InstanceArn=arn, InstanceAccessControlAttributeConfiguration=attributes(("team", "a")))
    time.sleep(ABAC_SECONDS + 0.2)
    failed = sso.describe_instance_access_control_attribute_configuration(InstanceArn=arn)
    assert (failed["Status"], failed["StatusReason"]) == ("CREATION_FAILED", "Attribute mapping rejected")
