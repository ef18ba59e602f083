output "function_service_accounts" {
  description = "Service-account email of each function, by function name."
  value       = { for name, sa in google_service_account.function : name => sa.email }
}

output "kubernetes_members" {
  description = "The Google identities that talk to the target clusters: bind them with modules/switchyard-rbac in every target namespace."
  value       = local.kubernetes_users
}

output "functions" {
  description = "Cloud Function resource name of each function, by function name."
  value       = { for name, fn in google_cloudfunctions2_function.function : name => fn.id }
}

output "control_topic" {
  description = "Topic of manual control messages (switchyard promote, abort, ...)."
  value       = google_pubsub_topic.switchyard[local.control_topic].id
}

output "control_audience" {
  description = "Audience of the ID tokens control messages carry (the control function refuses others); the CLI derives the same from project and prefix, or reads SWITCHYARD_ID_AUDIENCE."
  value       = "https://switchyard.dev/projects/${var.project_id}/installations/${var.prefix}"
}

output "events_topic" {
  description = "Topic of release events (CloudEvents): subscribe to it for your own integrations."
  value       = google_pubsub_topic.switchyard[local.events_topic].id
}

output "dead_letter_subscriptions" {
  description = "Pull subscriptions holding each function's dead letters for a week, by function name."
  value       = { for name, sub in google_pubsub_subscription.dead_letter_hold : name => sub.id }
}

output "source_object" {
  description = "The uploaded package the functions run (its name holds the package's MD5)."
  value       = "gs://${google_storage_bucket.source.name}/${google_storage_bucket_object.source.name}"
}

output "firestore_database" {
  description = "Firestore database id (SWITCHYARD_DATABASE)."
  value       = local.database_name
}
