# Data Access audit logs for the services that hold Switchyard's state and carry its commands
# (issue 11): who read or wrote Firestore documents (release history, targets, requests) and who
# published or pulled on its topics, beside the Admin Activity logs Google always keeps.
# Firestore's are configured under datastore.googleapis.com, which covers firestore.googleapis.com.
# An audit config is authoritative for its service in the project: it replaces what was set for
# that service before (set data_access_audit_logs = false to manage them elsewhere).
resource "google_project_iam_audit_config" "data_access" {
  for_each = var.data_access_audit_logs ? toset(["datastore.googleapis.com", "pubsub.googleapis.com"]) : toset([])

  project = var.project_id
  service = each.value

  audit_log_config {
    log_type = "ADMIN_READ"
  }
  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "DATA_WRITE"
  }
}
