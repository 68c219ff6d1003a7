"""image-pull-failed: the image of the new pods cannot be pulled."""

from __future__ import annotations

from analyzer_kit import incident, only

from analyzers import image_pull

PULL_FAILING = """
    $ kubectl get pods -n shop
    NAME                          READY   STATUS             RESTARTS   AGE
    orders-api-5b6c7d8e9f-t7r2q   0/1     ImagePullBackOff   0          6m
    orders-api-7c9f8d6b5-m4k2p    1/1     Running            0          9d
    $ kubectl get events -n shop
    LAST SEEN   TYPE      REASON    OBJECT                            MESSAGE
    2m          Normal    BackOff   pod/orders-api-5b6c7d8e9f-t7r2q   Back-off pulling image "registry.local/orders-api:4.2.0"
    2m          Warning   Failed    pod/orders-api-5b6c7d8e9f-t7r2q   Failed to pull image "registry.local/orders-api:4.2.0": rpc error: code = NotFound desc = failed to pull and unpack image "registry.local/orders-api:4.2.0": not found
"""

REPLICA_SETS = """
    $ kubectl get rs -n shop -o wide
    NAME                    DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES                            SELECTOR
    orders-api-5b6c7d8e9f   1         1         0       6m    orders-api   registry.local/orders-api:4.2.0   app=orders-api,pod-template-hash=5b6c7d8e9f
    orders-api-84d9f6c7b8   1         1         1       30d   orders-api   registry.local/orders-api:4.0.3   app=orders-api,pod-template-hash=84d9f6c7b8
    orders-api-7c9f8d6b5    2         2         2       9d    orders-api   registry.local/orders-api:4.1.0   app=orders-api,pod-template-hash=7c9f8d6b5
    orders-api-6f5e4d3c2b   0         0         0       2d    orders-api   registry.local/orders-api:4.1.1   app=orders-api,pod-template-hash=6f5e4d3c2b
"""


def test_a_missing_tag_is_reported_with_the_failing_image() -> None:
    pasted = incident(PULL_FAILING)
    finding = only(pasted.run(image_pull.analyze, "orders-api"), "image-pull-failed")
    assert finding.severity == "critical"
    assert finding.data["image"] == "registry.local/orders-api:4.2.0"
    assert finding.data["previous_image"] is None
    assert "no such tag" in finding.detail
    assert any("Failed to pull image" in s.excerpt for s in finding.evidence)
    pasted.assert_cited(finding)


def test_the_last_good_image_is_the_newest_replica_set_with_ready_pods() -> None:
    pasted = incident(PULL_FAILING, REPLICA_SETS)
    finding = only(pasted.run(image_pull.analyze, "orders-api"), "image-pull-failed")
    # 4.1.1 is newer but never had a ready pod; 4.0.3 has ready pods but is older.
    assert finding.data["previous_image"] == "registry.local/orders-api:4.1.0"
    assert "ReplicaSet orders-api-7c9f8d6b5" in finding.detail
    assert any(s.excerpt.startswith("orders-api-7c9f8d6b5 ") for s in finding.evidence)
    pasted.assert_cited(finding)


def test_refused_credentials_are_told_apart_from_a_missing_tag() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE      REASON   OBJECT                            MESSAGE
        1m          Warning   Failed   pod/orders-api-5b6c7d8e9f-t7r2q   Failed to pull image "registry.local/orders-api:4.2.0": failed to authorize: 401 Unauthorized
        """
    )
    finding = only(pasted.run(image_pull.analyze, "orders-api"), "image-pull-failed")
    assert "credentials" in finding.detail
    pasted.assert_cited(finding)


def test_another_service_failing_to_pull_is_not_ours() -> None:
    pasted = incident(
        """
        $ kubectl get events -A
        NAMESPACE   LAST SEEN   TYPE      REASON   OBJECT                               MESSAGE
        payments    1m          Warning   Failed   pod/ledger-worker-5d8f7c9b4-q2w7e    Failed to pull image "registry.local/ledger:9.9.9": not found
        payments    1m          Normal    BackOff  pod/ledger-worker-5d8f7c9b4-q2w7e    Back-off pulling image "registry.local/ledger:9.9.9"
        """
    )
    assert pasted.run(image_pull.analyze, "orders-api") == []


def test_images_pulled_successfully_give_nothing() -> None:
    pasted = incident(
        """
        $ kubectl get events -n shop
        LAST SEEN   TYPE     REASON    OBJECT                            MESSAGE
        3m          Normal   Pulling   pod/orders-api-7c9f8d6b5-m4k2p    Pulling image "registry.local/orders-api:4.1.0"
        3m          Normal   Pulled    pod/orders-api-7c9f8d6b5-m4k2p    Successfully pulled image "registry.local/orders-api:4.1.0" in 1.2s
        """
    )
    assert pasted.run(image_pull.analyze, "orders-api") == []
