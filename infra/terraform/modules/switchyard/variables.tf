variable "project_id" {
  description = "Project that runs Switchyard: its functions, topics, Firestore database and scheduler job."
  type        = string
}

variable "region" {
  description = "Region of the functions, the source bucket, the image repository and the scheduler job."
  type        = string
  default     = "us-central1"
}

variable "prefix" {
  description = "Prefix of every Switchyard topic, subscription, function and service account (SWITCHYARD_PREFIX)."
  type        = string
  default     = "switchyard"

  validation {
    # Service-account ids are "<prefix>-<function>", at most 30 characters; deploy-green is the longest.
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.prefix)) && length(var.prefix) <= 17
    error_message = "prefix must start with a lowercase letter, hold only a-z, 0-9 and '-', and be at most 17 characters."
  }
}

variable "source_zip" {
  description = "Path of the functions' package built by `npm run package` (dist/switchyard-functions.zip)."
  type        = string
}

variable "source_bucket" {
  description = "Bucket the package is uploaded to (created). Default: <project_id>-<prefix>-source."
  type        = string
  default     = null
}

variable "create_gcr_topic" {
  description = "Create the topic `gcr` that Artifact Registry publishes image pushes to. Set false when it exists already (enabling Artifact Registry or Container Registry may have created it)."
  type        = bool
  default     = true
}

variable "create_firestore_database" {
  description = "Create the Firestore database. Set false to use one that exists (import it, or keep it outside Terraform)."
  type        = bool
  default     = true
}

variable "firestore_database" {
  description = "Firestore database id (SWITCHYARD_DATABASE)."
  type        = string
  default     = "(default)"
}

variable "firestore_location" {
  description = "Location of the Firestore database (a multi-region like nam5 or eur3, or a region)."
  type        = string
  default     = "nam5"
}

variable "firestore_deletion_policy" {
  description = "What `terraform destroy` does to the database: ABANDON (keep it and its data) or DELETE."
  type        = string
  default     = "ABANDON"
}

variable "cluster_projects" {
  description = "Projects of the target GKE clusters: the functions that talk to Kubernetes get Kubernetes Engine Cluster Viewer there. Default: project_id."
  type        = list(string)
  default     = []
}

variable "monitoring_projects" {
  description = "Projects whose Cloud Monitoring / Managed Prometheus metrics analyses read (analyze gets Monitoring Viewer there). Default: project_id."
  type        = list(string)
  default     = []
}

variable "image_repositories" {
  description = "Artifact Registry Docker repositories whose pushes Switchyard releases: deploy-green gets Artifact Registry Reader on each, to confirm that a pushed digest (and its tag) exists before it releases it."
  type = list(object({
    project    = string
    location   = string
    repository = string
  }))
  default = []
}

variable "notifier_secrets" {
  description = "Secret Manager secret ids (in project_id) the notify function reads, e.g. Slack webhook URLs. Each is mounted at /etc/secrets/<id>/<id> (latest version)."
  type        = list(string)
  default     = []
}

variable "operators" {
  description = "IAM members (user:, group:, serviceAccount:, domain:) who run the switchyard CLI: they may publish control messages (and apply, which the control function stores) and read Switchyard's Firestore database, never write it; users, service accounts and domains (not groups: an ID token names no group) may also run every command on a target no access rule applies to, create targets and apply analysis templates."
  type        = list(string)
  default     = []
}

variable "access_policy" {
  description = "Installation-wide access rules beside each target's spec.access: each grants `commands` (promote, abort, retry, restart, undo, pause, resume, apply) to `members` (emails, user:, serviceAccount:, domain:) on the targets whose metadata.labels hold every label of `selector.matchLabels` ({} selects every target, and analysis templates). A command is allowed when any rule that applies grants it; on a target no rule applies to, the operators run every command."
  type = list(object({
    selector = object({ matchLabels = map(string) })
    members  = list(string)
    commands = list(string)
  }))
  default = []

  validation {
    condition = alltrue([
      for r in var.access_policy : length(r.members) > 0 && length(r.commands) > 0 && alltrue([
        for c in r.commands : contains(["promote", "abort", "retry", "restart", "undo", "pause", "resume", "apply"], c)
      ])
    ])
    error_message = "Each access_policy rule names at least one member and at least one command, each one of promote, abort, retry, restart, undo, pause, resume, apply."
  }

  validation {
    condition = alltrue([
      for r in var.access_policy : alltrue([for m in r.members : !startswith(m, "group:")])
    ])
    error_message = "access_policy members are emails, user:, serviceAccount: or domain: identities; an ID token names no group."
  }
}

variable "data_access_audit_logs" {
  description = "Turn on Data Access audit logs (ADMIN_READ, DATA_READ, DATA_WRITE) for Firestore (datastore.googleapis.com) and Pub/Sub in the project. Authoritative per service: false leaves them to be managed elsewhere."
  type        = bool
  default     = true
}

variable "build_service_account" {
  description = "Email of the service account that builds the functions. Default: a dedicated <prefix>-build account with the least roles a build needs."
  type        = string
  default     = null
}

variable "function_env" {
  description = "Extra environment of every function (e.g. SWITCHYARD_LEASE_SECONDS, SWITCHYARD_INLINE_WAIT_SECONDS)."
  type        = map(string)
  default     = {}
}

variable "retry_minimum_backoff" {
  description = "Shortest wait before Pub/Sub delivers a failed message again."
  type        = string
  default     = "10s"
}

variable "retry_maximum_backoff" {
  description = "Longest wait before Pub/Sub delivers a failed message again."
  type        = string
  default     = "600s"
}

variable "enable_apis" {
  description = "Enable the Google APIs Switchyard uses (never disabled on destroy)."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on every labelled resource."
  type        = map(string)
  default     = {}
}
