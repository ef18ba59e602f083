output "roles" {
  description = "The Role of each namespace, as namespace/name."
  value       = [for r in kubernetes_role_v1.switchyard : "${r.metadata[0].namespace}/${r.metadata[0].name}"]
}
