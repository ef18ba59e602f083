# Least privilege, derived from what each function's code does (see local.functions): no primitive
# role anywhere, project-wide roles only where the resource has no finer IAM (Firestore, Cluster
# Viewer, Monitoring), and those narrowed by condition where IAM allows it.

# Firestore: every function reads and writes releases in its transactions. Limited to the one
# database.
resource "google_project_iam_member" "firestore" {
  for_each = local.functions

  project = var.project_id
  role    = "roles/datastore.user"
  member  = local.function_members[each.key]

  condition {
    title      = "switchyard-database"
    expression = local.firestore_binding
  }
}

# Pub/Sub: publisher on exactly the topics each function hands over to.
locals {
  publisher_grants = merge([
    for name, fn in local.functions : {
      for topic in fn.publishes : "${name}/${topic}" => { function = name, topic = topic }
    }
  ]...)
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.publisher_grants

  project = var.project_id
  topic   = google_pubsub_topic.switchyard[each.value.topic].name
  role    = "roles/pubsub.publisher"
  member  = local.function_members[each.value.function]
}

# GKE: reading a cluster's endpoint and CA through the Container API (shared/kubernetes/connect.ts);
# what it may do inside is the namespaced Role of modules/switchyard-rbac.
locals {
  cluster_grants = merge([
    for name, fn in local.functions : {
      for project in local.cluster_projects : "${name}/${project}" => { function = name, project = project }
    } if fn.kubernetes
  ]...)
  monitoring_grants = merge([
    for name, fn in local.functions : {
      for project in local.monitor_projects : "${name}/${project}" => { function = name, project = project }
    } if fn.monitoring
  ]...)
}

resource "google_project_iam_member" "cluster_viewer" {
  for_each = local.cluster_grants

  project = each.value.project
  role    = "roles/container.clusterViewer"
  member  = local.function_members[each.value.function]
}

# Analysis measurements from Cloud Monitoring and Managed Prometheus: analyze alone.
resource "google_project_iam_member" "monitoring_viewer" {
  for_each = local.monitoring_grants

  project = each.value.project
  role    = "roles/monitoring.viewer"
  member  = local.function_members[each.value.function]
}

# The pushed image exists: deploy-green asks the registry for the digest and the tag before it
# releases a push (shared/registry/check.ts), on the repositories the installation releases from.
locals {
  registry_grants = merge([
    for name, fn in local.functions : {
      for r in var.image_repositories : "${name}/${r.project}/${r.location}/${r.repository}" => { function = name, project = r.project, location = r.location, repository = r.repository }
    } if fn.registry
  ]...)
}

resource "google_artifact_registry_repository_iam_member" "registry_reader" {
  for_each = local.registry_grants

  project    = each.value.project
  location   = each.value.location
  repository = each.value.repository
  role       = "roles/artifactregistry.reader"
  member     = local.function_members[each.value.function]
}

# Notifier secrets: readable by the functions that mount them (notify), one grant per secret.
locals {
  secret_grants = merge([
    for name, fn in local.functions : {
      for secret in var.notifier_secrets : "${name}/${secret}" => { function = name, secret = secret }
    } if fn.secrets
  ]...)
}

resource "google_secret_manager_secret_iam_member" "notifier" {
  for_each = local.secret_grants

  project   = var.project_id
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = local.function_members[each.value.function]
}

# Invoking: Pub/Sub pushes with an OIDC token of this account, which may invoke the functions and
# nothing else. The Pub/Sub service agent signs those tokens.
resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.prefix}-invoker"
  display_name = "Switchyard push invoker"
  description  = "Identity of Pub/Sub's pushes to Switchyard's functions"
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.functions

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# Operators (the switchyard CLI): publish control messages (promote, abort, … and apply, which
# the control function verifies, authorizes and stores), and read the database. Nobody but the
# functions writes it: release history is append-only for people.
resource "google_pubsub_topic_iam_member" "operator_control" {
  for_each = toset(var.operators)

  project = var.project_id
  topic   = google_pubsub_topic.switchyard[local.control_topic].name
  role    = "roles/pubsub.publisher"
  member  = each.value
}

resource "google_project_iam_member" "operator_firestore" {
  for_each = toset(var.operators)

  project = var.project_id
  role    = "roles/datastore.viewer"
  member  = each.value

  condition {
    title      = "switchyard-database"
    expression = local.firestore_binding
  }
}

# The build: a dedicated account that writes logs and the functions' images, and reads the sources
# Cloud Functions stages for it, unless var.build_service_account names another.
resource "google_service_account" "build" {
  count = var.build_service_account == null ? 1 : 0

  project      = var.project_id
  account_id   = "${var.prefix}-build"
  display_name = "Switchyard function builds"
  description  = "Builds Switchyard's functions"
}

locals {
  build_email              = var.build_service_account != null ? var.build_service_account : one(google_service_account.build[*].email)
  build_service_account_id = "projects/${var.project_id}/serviceAccounts/${local.build_email}"
  build_roles = {
    logs = {
      role      = "roles/logging.logWriter"
      condition = null
    }
    sources = {
      role = "roles/storage.objectViewer"
      condition = {
        title      = "function-sources"
        expression = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\") || resource.name.startsWith(\"projects/_/buckets/${local.source_bucket}\")"
      }
    }
  }
}

resource "google_project_iam_member" "build" {
  for_each = { for k, v in local.build_roles : k => v if var.build_service_account == null }

  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${local.build_email}"

  dynamic "condition" {
    for_each = each.value.condition == null ? [] : [each.value.condition]
    content {
      title      = condition.value.title
      expression = condition.value.expression
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "build" {
  count = var.build_service_account == null ? 1 : 0

  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${local.build_email}"
}
