"""The MongoDB client options chosen per deployment: majority on a replica set, journaled
single-node writes on the embedded database, retryable writes and reads everywhere."""

from __future__ import annotations

import pytest
from pymongo import ReadPreference

from server.config import ConfigError
from server.db import DURABLE, client_options, concerns_for, connect, is_replica_set
from tests.helpers.fleet_api import make_config

REPLICA_SETS = [
    "mongodb://mongo1:27017,mongo2:27017,mongo3:27017/?replicaSet=rs0",
    "mongodb://mongo1:27017/?replicaSet=rs0",
    "mongodb://user:pw@mongo1,mongo2/pixelopolis?authSource=admin",
    "mongodb+srv://fleet.example.org/",
]
SINGLE_NODES = ["mongodb://127.0.0.1:27017", "mongodb://127.0.0.1:41234/?directConnection=true"]


@pytest.mark.parametrize("uri", REPLICA_SETS)
def test_a_replica_set_gets_majority_writes_and_reads_from_the_primary(uri):
    assert is_replica_set(uri)
    options = client_options(uri)
    assert options["w"] == "majority" and options["journal"] is True
    assert options["readConcernLevel"] == "majority"
    assert options["readPreference"] == "primary"
    assert options["retryWrites"] is True and options["retryReads"] is True
    assert options["wTimeoutMS"] >= 10_000
    # Long enough to ride out an election after a step-down, short enough to answer 503.
    assert 5_000 <= options["serverSelectionTimeoutMS"] <= 15_000


def test_the_database_handle_carries_the_concerns_on_a_replica_set():
    uri = REPLICA_SETS[0] + "&w=1&readConcernLevel=local&retryWrites=false"
    db = connect(uri, "pixelopolis")  # lazy: nothing is contacted
    try:
        assert db.write_concern.document == {"w": "majority", "j": True, "wtimeout": 10_000}
        assert db.read_concern.level == "majority"
        assert db.read_preference == ReadPreference.PRIMARY
        # A URI cannot weaken what bookings depend on: our options win over its own.
        assert db.client.options.retry_writes and db.client.options.retry_reads
        assert db.client.write_concern.document["w"] == "majority"
        assert db.bookings.write_concern.document["w"] == "majority"
    finally:
        db.client.close()


@pytest.mark.parametrize("uri", SINGLE_NODES)
def test_a_single_node_keeps_journaled_writes_and_default_reads(uri):
    assert not is_replica_set(uri)
    concerns = concerns_for(uri)
    assert concerns.write == DURABLE and concerns.read.level is None
    options = client_options(uri)
    assert "w" not in options and "readConcernLevel" not in options
    assert options["retryWrites"] is True and options["retryReads"] is True
    assert options["serverSelectionTimeoutMS"] == 2000


def test_the_embedded_database_handle_is_single_node(mongo_uri):
    db = connect(mongo_uri, "unused")
    try:
        assert db.write_concern.document == {"w": 1, "j": True}
        assert db.client.admin.command("ping")["ok"] == 1
    finally:
        db.client.close()


@pytest.mark.parametrize(
    "uri", ["mongodb://", "mongodb://host:notaport", "mongodb://a,,b/", "mongodb://h/?w=x&j=maybe"]
)
def test_a_malformed_uri_fails_at_start_naming_the_setting(uri, db_name):
    with pytest.raises(ConfigError, match="^mongodb_uri: "):
        make_config(uri, db_name)


def test_a_password_in_a_malformed_uri_is_not_repeated():
    with pytest.raises(ConfigError) as caught:
        make_config("mongodb://admin:s3cretpass@host:99999999/", "x")
    assert "s3cretpass" not in str(caught.value)
