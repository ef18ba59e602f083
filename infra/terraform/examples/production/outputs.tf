output "function_service_accounts" {
  description = "Service-account email of each function."
  value       = module.switchyard.function_service_accounts
}

output "control_topic" {
  description = "Topic of manual control messages."
  value       = module.switchyard.control_topic
}

output "events_topic" {
  description = "Topic of release events."
  value       = module.switchyard.events_topic
}

output "target_cluster" {
  description = "The cluster name to put in release targets (spec.cluster.gke)."
  value       = "projects/${var.cluster.project}/locations/${var.cluster.location}/clusters/${var.cluster.name}"
}
