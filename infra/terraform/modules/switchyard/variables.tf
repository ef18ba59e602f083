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

variable "notifier_secrets" {
  description = "Secret Manager secret ids (in project_id) the notify function reads, e.g. Slack webhook URLs. Each is mounted at /etc/secrets/<id>/<id> (latest version)."
  type        = list(string)
  default     = []
}

variable "operators" {
  description = "IAM members (user:, group:, serviceAccount:) who run the switchyard CLI: they may publish control messages and read and write Switchyard's Firestore database."
  type        = list(string)
  default     = []
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
