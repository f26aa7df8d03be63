"""ListInstances and UpdateInstance, the two instance operations moto
implements, answer in the same shapes from moto_server and from ours. moto
predates the newer members of ListInstances (PrimaryRegion, Regions,
IdentityStoreArn), so those are the only keys ours may add."""

from conftest import client


def shape(value):
    """The structure of a response: keys and value types, not values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def first_instance(sso):
    return sso.list_instances()["Instances"][0]


def test_list_and_update_instance_have_the_same_shapes(emulator_url, moto_url):
    ours = client("sso-admin", emulator_url, key="AKIA222233334444XXXX")
    ours.create_instance(ClientToken="shape", Name="named")
    import time

    time.sleep(0.3)
    moto = client("sso-admin", moto_url)
    moto_arn = first_instance(moto)["InstanceArn"]
    moto.update_instance(InstanceArn=moto_arn, Name="named")

    theirs, mine = moto.list_instances(), ours.list_instances()
    newer = {"PrimaryRegion", "Regions", "IdentityStoreArn"}
    for instance in mine["Instances"]:
        assert newer <= set(instance), "ours follows the current model"
        for key in newer - set(theirs["Instances"][0]):
            del instance[key]
    assert shape(mine) == shape(theirs)
    assert set(first_instance(ours)) - set(first_instance(moto)) <= newer
    arn = first_instance(ours)["InstanceArn"]
    assert shape(ours.update_instance(InstanceArn=arn, Name="renamed")) == shape(moto.update_instance(InstanceArn=moto_arn, Name="renamed"))
    assert first_instance(ours)["Name"] == first_instance(moto)["Name"] == "renamed"
