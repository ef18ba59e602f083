# Firestore: the database, the composite indexes the code's queries need, and TTL on the records
# that are only kept for a while.

resource "google_firestore_database" "switchyard" {
  count = var.create_firestore_database ? 1 : 0

  project                     = var.project_id
  name                        = var.firestore_database
  location_id                 = var.firestore_location
  type                        = "FIRESTORE_NATIVE"
  concurrency_mode            = "PESSIMISTIC"
  app_engine_integration_mode = "DISABLED"
  deletion_policy             = var.firestore_deletion_policy

  depends_on = [google_project_service.api]
}

# Every query of shared/ and cli/ (Store, TargetStore) filters or orders on one field, which
# Firestore's automatic single-field indexes serve, except a target's releases newest first
# (Store.releasesOf: target == X order by number desc).
resource "google_firestore_index" "releases_by_target" {
  project     = var.project_id
  database    = local.database_name
  collection  = "releases"
  query_scope = "COLLECTION"

  fields {
    field_path = "target"
    order      = "ASCENDING"
  }
  fields {
    field_path = "number"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.switchyard]
}

# Records written with an `expireAt` timestamp (30 days after they were made) are deleted by
# Firestore's TTL within a day of it: what each image push meant (pushes), the answers to control
# messages (requests), the notifications sent and the Slack threads of trains and releases
# (slackThreads). The field is not indexed: nothing queries it.
locals {
  ttl_collections = ["pushes", "requests", "notifications", "slackThreads"]
}

resource "google_firestore_field" "ttl" {
  for_each = toset(local.ttl_collections)

  project    = var.project_id
  database   = local.database_name
  collection = each.value
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.switchyard]
}
