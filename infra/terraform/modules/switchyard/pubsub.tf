# Topics, the functions' push subscriptions with retry and a dead-letter topic each, and what the
# Pub/Sub service agent needs to dead-letter and to sign the pushes' OIDC tokens.

resource "google_pubsub_topic" "switchyard" {
  for_each = toset(local.topics)

  project = var.project_id
  name    = each.value
  labels  = var.labels

  depends_on = [google_project_service.api]
}

# Artifact Registry publishes to `gcr` in its own project; enabling the API may have created it.
resource "google_pubsub_topic" "gcr" {
  count = var.create_gcr_topic ? 1 : 0

  project = var.project_id
  name    = local.gcr_topic
  labels  = var.labels

  depends_on = [google_project_service.api]
}

resource "google_pubsub_topic" "dead_letter" {
  for_each = local.functions

  project = var.project_id
  name    = each.value.dead_letter_topic
  labels  = var.labels

  depends_on = [google_project_service.api]
}

# Pub/Sub drops messages published to a topic without subscriptions: this keeps the dead letters
# a week for an operator to read (`gcloud pubsub subscriptions pull <topic>-hold`).
resource "google_pubsub_subscription" "dead_letter_hold" {
  for_each = local.functions

  project                    = var.project_id
  name                       = "${each.value.dead_letter_topic}-hold"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 60
  labels                     = var.labels

  expiration_policy {
    ttl = ""
  }
}

# One push subscription per trigger of a function, as the local stack wires them
# (infra/local/components/functions.ts). A gen2 event trigger cannot express deploy-green's two
# topics, hence explicit subscriptions. The push path names the topic: functions-framework turns a
# raw Pub/Sub push into a CloudEvent whose source it takes from the path
# (projects/P/topics/T), and functions/shell.ts reads the topic from that source.
resource "google_pubsub_subscription" "trigger" {
  for_each = local.triggers

  project              = var.project_id
  name                 = each.key
  topic                = "projects/${var.project_id}/topics/${each.value.topic}"
  ack_deadline_seconds = local.functions[each.value.function].ack_deadline_seconds
  labels               = var.labels

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function[each.value.function].service_config[0].uri}/projects/${var.project_id}/topics/${each.value.topic}"

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.function[each.value.function].service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.value.function].id
    max_delivery_attempts = local.functions[each.value.function].max_delivery_attempts
  }

  # Subscriptions expire after 31 days without deliveries by default: Switchyard may go that long
  # without a release.
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_pubsub_topic.switchyard,
    google_pubsub_topic.gcr,
    google_cloud_run_service_iam_member.invoker,
  ]
}

# Dead-lettering: the Pub/Sub service agent publishes to the dead-letter topics and acknowledges
# on the subscriptions it forwards from.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.functions

  project = var.project_id
  topic   = google_pubsub_topic.dead_letter[each.key].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = local.triggers

  project      = var.project_id
  subscription = google_pubsub_subscription.trigger[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
