# Switchyard's functions, topics and subscriptions: a mirror of the code's registry
# (shared/topology.ts, topology(var.prefix)). infra/terraform/terraform.test.ts parses this file and
# fails when the two differ, so change both together.

locals {
  # Artifact Registry publishes image pushes to a topic of exactly this name (FACTS.md §1).
  gcr_topic = "gcr"

  step_topics = {
    "deploy-green" = "${var.prefix}-deploy-green"
    "analyze"      = "${var.prefix}-analyze"
    "switch"       = "${var.prefix}-switch"
    "scale-down"   = "${var.prefix}-scale-down"
    "rollback"     = "${var.prefix}-rollback"
  }
  control_topic = "${var.prefix}-control"
  sweep_topic   = "${var.prefix}-sweep"
  events_topic  = "${var.prefix}-events"

  # Every topic Switchyard owns (the gcr topic is Artifact Registry's; dead-letter topics below).
  topics = [
    "${var.prefix}-deploy-green",
    "${var.prefix}-analyze",
    "${var.prefix}-switch",
    "${var.prefix}-scale-down",
    "${var.prefix}-rollback",
    "${var.prefix}-control",
    "${var.prefix}-sweep",
    "${var.prefix}-events",
  ]

  # What a function that commits release transitions publishes: the hand-over to whichever step comes
  # next (shared/runtime/wake.ts fire(); any step can follow any other), and release events.
  release_topics = [
    "${var.prefix}-deploy-green",
    "${var.prefix}-analyze",
    "${var.prefix}-switch",
    "${var.prefix}-scale-down",
    "${var.prefix}-rollback",
    "${var.prefix}-events",
  ]

  # One entry per function of the registry, keyed by its name, which is also its entry point.
  #   triggers:   one push subscription per topic that runs the function
  #   publishes:  topics its service account may publish to
  #   kubernetes: talks to the target clusters (Cluster Viewer, and the Kubernetes RBAC Role)
  #   monitoring: takes analysis measurements from Cloud Monitoring / Managed Prometheus. Only
  #               analyze does: measurements are taken in the phases PrePromotionAnalysis,
  #               AwaitingPromotion, PostPromotionAnalysis and Progressing (shared/runtime/measure.ts
  #               runningRuns()), whose steps shared/engine/decide.ts stepFor() sends to analyze.
  #   secrets:    mounts var.notifier_secrets
  #   max_instances: instances run one delivery at a time (the functions wait for short timers
  #               inline); more deliveries than instances are answered 429 and retried by Pub/Sub.
  functions = {
    "deploy-green" = {
      triggers = [
        { topic = "gcr", subscription = "${var.prefix}-deploy-green-gcr" },
        { topic = "${var.prefix}-deploy-green", subscription = "${var.prefix}-deploy-green-push" },
      ]
      dead_letter_topic     = "${var.prefix}-deploy-green-dead-letter"
      max_delivery_attempts = 10
      ack_deadline_seconds  = 300
      memory_mib            = 256
      timeout_seconds       = 300
      max_instances         = 10
      publishes             = local.release_topics
      kubernetes            = true
      monitoring            = false
      secrets               = false
      registry              = true
    }
    "analyze" = {
      triggers = [
        { topic = "${var.prefix}-analyze", subscription = "${var.prefix}-analyze-push" },
      ]
      dead_letter_topic     = "${var.prefix}-analyze-dead-letter"
      max_delivery_attempts = 10
      ack_deadline_seconds  = 300
      memory_mib            = 256
      timeout_seconds       = 300
      max_instances         = 10
      publishes             = local.release_topics
      kubernetes            = true
      monitoring            = true
      secrets               = false
      registry              = false
    }
    "switch" = {
      triggers = [
        { topic = "${var.prefix}-switch", subscription = "${var.prefix}-switch-push" },
      ]
      dead_letter_topic     = "${var.prefix}-switch-dead-letter"
      max_delivery_attempts = 10
      ack_deadline_seconds  = 300
      memory_mib            = 256
      timeout_seconds       = 300
      max_instances         = 10
      publishes             = local.release_topics
      kubernetes            = true
      monitoring            = false
      secrets               = false
      registry              = false
    }
    "scale-down" = {
      triggers = [
        { topic = "${var.prefix}-scale-down", subscription = "${var.prefix}-scale-down-push" },
      ]
      dead_letter_topic     = "${var.prefix}-scale-down-dead-letter"
      max_delivery_attempts = 10
      ack_deadline_seconds  = 300
      memory_mib            = 256
      timeout_seconds       = 300
      max_instances         = 10
      publishes             = local.release_topics
      kubernetes            = true
      monitoring            = false
      secrets               = false
      registry              = false
    }
    "rollback" = {
      triggers = [
        { topic = "${var.prefix}-rollback", subscription = "${var.prefix}-rollback-push" },
      ]
      dead_letter_topic     = "${var.prefix}-rollback-dead-letter"
      max_delivery_attempts = 10
      ack_deadline_seconds  = 300
      memory_mib            = 256
      timeout_seconds       = 300
      max_instances         = 10
      publishes             = local.release_topics
      kubernetes            = true
      monitoring            = false
      secrets               = false
      registry              = false
    }
    "control" = {
      triggers = [
        { topic = "${var.prefix}-control", subscription = "${var.prefix}-control-push" },
      ]
      dead_letter_topic     = "${var.prefix}-control-dead-letter"
      max_delivery_attempts = 10
      ack_deadline_seconds  = 300
      memory_mib            = 256
      timeout_seconds       = 300
      max_instances         = 5
      publishes             = local.release_topics
      kubernetes            = false
      monitoring            = false
      secrets               = false
      registry              = false
    }
    "sweep" = {
      triggers = [
        { topic = "${var.prefix}-sweep", subscription = "${var.prefix}-sweep-push" },
      ]
      dead_letter_topic     = "${var.prefix}-sweep-dead-letter"
      max_delivery_attempts = 5
      ack_deadline_seconds  = 120
      memory_mib            = 256
      timeout_seconds       = 120
      # A sweep waits for the timers due before the next one, so two may overlap.
      max_instances = 3
      publishes     = local.release_topics
      kubernetes    = true
      monitoring    = false
      secrets       = false
      registry      = false
    }
    "notify" = {
      triggers = [
        { topic = "${var.prefix}-events", subscription = "${var.prefix}-events-push" },
      ]
      dead_letter_topic     = "${var.prefix}-notify-dead-letter"
      max_delivery_attempts = 5
      ack_deadline_seconds  = 60
      memory_mib            = 256
      timeout_seconds       = 60
      max_instances         = 5
      publishes             = []
      kubernetes            = false
      monitoring            = false
      secrets               = true
      registry              = false
    }
  }

  # One entry per push subscription, keyed by its name.
  triggers = merge([
    for name, fn in local.functions : {
      for t in fn.triggers : t.subscription => { function = name, topic = t.topic }
    }
  ]...)

  database_name     = var.firestore_database
  source_bucket     = coalesce(var.source_bucket, "${var.project_id}-${var.prefix}-source")
  cluster_projects  = length(var.cluster_projects) > 0 ? var.cluster_projects : [var.project_id]
  monitor_projects  = length(var.monitoring_projects) > 0 ? var.monitoring_projects : [var.project_id]
  pubsub_agent      = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  function_members  = { for name, sa in google_service_account.function : name => "serviceAccount:${sa.email}" }
  kubernetes_users  = [for name, fn in local.functions : google_service_account.function[name].email if fn.kubernetes]
  firestore_binding = "resource.name == \"projects/${var.project_id}/databases/${var.firestore_database}\""
}

data "google_project" "this" {
  project_id = var.project_id
}
