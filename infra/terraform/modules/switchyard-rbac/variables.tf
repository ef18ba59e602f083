variable "namespaces" {
  description = "Target namespaces of this cluster: each gets Switchyard's Role and a RoleBinding."
  type        = list(string)
}

variable "members" {
  description = "Kubernetes user names to bind: the emails of the functions' Google service accounts (module switchyard's output kubernetes_members)."
  type        = list(string)

  validation {
    condition     = length(var.members) > 0
    error_message = "members must name at least one identity."
  }
}

variable "name" {
  description = "Name of the Role and RoleBinding in each namespace."
  type        = string
  default     = "switchyard"
}
