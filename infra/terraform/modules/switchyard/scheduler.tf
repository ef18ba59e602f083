# The minute sweep: fires due timers, recovers lost steps, removes old revisions
# (shared/runtime/sweep.ts). Cloud Scheduler publishes as its service agent, whose role includes
# publishing to topics of its project.

resource "google_cloud_scheduler_job" "sweep" {
  project     = var.project_id
  region      = var.region
  name        = "${var.prefix}-sweep"
  description = "Switchyard's sweep, every minute"
  schedule    = "* * * * *"
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.switchyard[local.sweep_topic].id
    # The functions take JSON messages; functions-framework needs a non-empty body.
    data = base64encode(jsonencode({ kind = "sweep" }))
  }

  depends_on = [google_project_service.api]
}
