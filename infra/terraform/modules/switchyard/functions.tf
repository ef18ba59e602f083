# The functions: one Cloud Function (gen2, Node.js 24) per entry of local.functions, all built from
# the one package (`npm run package`), each with its own service account. The object's name holds
# the package's MD5, so a changed package is a new object and `terraform apply` redeploys.

resource "google_storage_bucket" "source" {
  project                     = var.project_id
  name                        = local.source_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = var.labels

  # Older packages are of no use once the functions run a newer one.
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_storage_bucket_object" "source" {
  name   = "switchyard-functions-${filemd5(var.source_zip)}.zip"
  bucket = google_storage_bucket.source.name
  source = var.source_zip
}

# The functions' container images, in a repository of their own so the build account may write
# there and nowhere else (not to the repositories whose pushes start releases).
resource "google_artifact_registry_repository" "functions" {
  project       = var.project_id
  location      = var.region
  repository_id = "${var.prefix}-functions"
  description   = "Images of Switchyard's functions, built by Cloud Functions"
  format        = "DOCKER"
  labels        = var.labels

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 3
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.api]
}

resource "google_service_account" "function" {
  for_each = local.functions

  project      = var.project_id
  account_id   = "${var.prefix}-${each.key}"
  display_name = "Switchyard ${each.key}"
  description  = "Runs Switchyard's ${each.key} function"
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = "${var.prefix}-${each.key}"
  description = "Switchyard ${each.key}: triggered by Pub/Sub push subscriptions (${join(", ", [for t in each.value.triggers : t.subscription])})"
  labels      = var.labels

  build_config {
    runtime           = "nodejs24"
    entry_point       = each.key
    service_account   = local.build_service_account_id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = "${each.value.memory_mib}Mi"
    timeout_seconds                  = each.value.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function[each.key].email

    # What shared/config.ts reads.
    environment_variables = merge(var.function_env, {
      GOOGLE_CLOUD_PROJECT = var.project_id
      SWITCHYARD_PREFIX    = var.prefix
      SWITCHYARD_DATABASE  = var.firestore_database
      # Who may run every control command on a target without spec.access. An ID token names a
      # person or service account, never a group: group members get their IAM roles only.
      SWITCHYARD_OPERATORS = join(",", [for m in var.operators : m if !startswith(m, "group:")])
      # Rules by label selector beside each target's spec.access (shared/identity/access.ts).
      SWITCHYARD_ACCESS_POLICY = jsonencode(var.access_policy)
    })

    # The notifiers' secrets, latest version, as files /etc/secrets/<id>/<id>.
    dynamic "secret_volumes" {
      for_each = each.value.secrets ? toset(var.notifier_secrets) : toset([])
      content {
        mount_path = "/etc/secrets/${secret_volumes.value}"
        project_id = var.project_id
        secret     = secret_volumes.value
        versions {
          version = "latest"
          path    = secret_volumes.value
        }
      }
    }
  }

  depends_on = [
    google_project_service.api,
    google_secret_manager_secret_iam_member.notifier,
    google_project_iam_member.build,
    google_artifact_registry_repository_iam_member.build,
  ]
}
