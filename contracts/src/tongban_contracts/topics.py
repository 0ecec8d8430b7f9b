"""Kafka topic names of the mesh (before the per-run prefix of tests is applied)."""

CATALOGUE_ITEMS = "tongban.catalogue.item.v1"
CASE_LIFECYCLE = "tongban.case.lifecycle.v1"
IDENTITY_AUDIT = "tongban.identity.audit.v1"
ESEAL_LICENCES = "tongban.eseal.licence.v1"
EXCHANGE_AUDIT = "tongban.exchange.audit.v1"

ALL_TOPICS: dict[str, dict[str, str]] = {
    CATALOGUE_ITEMS: {"cleanup.policy": "compact"},
    CASE_LIFECYCLE: {},
    IDENTITY_AUDIT: {},
    ESEAL_LICENCES: {},
    EXCHANGE_AUDIT: {},
}
