variable "project_id" {
  description = "Project that runs Switchyard."
  type        = string
}

variable "region" {
  description = "Region of the functions and the scheduler job."
  type        = string
  default     = "us-central1"
}

variable "source_zip" {
  description = "The functions' package built by `npm run package`."
  type        = string
  default     = "../../../../dist/switchyard-functions.zip"
}

variable "create_gcr_topic" {
  description = "False when the project already has the topic `gcr`."
  type        = bool
  default     = true
}

variable "cluster" {
  description = "The target GKE cluster: its project, location and name."
  type = object({
    project  = string
    location = string
    name     = string
  })
}

variable "namespaces" {
  description = "The cluster's namespaces that hold target workloads."
  type        = list(string)
}

variable "notifier_secrets" {
  description = "Secret Manager secret ids the notify function reads (e.g. a Slack webhook URL)."
  type        = list(string)
  default     = []
}

variable "operators" {
  description = "IAM members who run the switchyard CLI (e.g. group:release-managers@example.com)."
  type        = list(string)
  default     = []
}

variable "access_policy" {
  description = "Installation-wide access rules beside each target's spec.access (see the module's variable)."
  type = list(object({
    selector = object({ matchLabels = map(string) })
    members  = list(string)
    commands = list(string)
  }))
  default = []
}

variable "image_repositories" {
  description = "Artifact Registry repositories whose pushes are released: deploy-green may read them."
  type = list(object({
    project    = string
    location   = string
    repository = string
  }))
  default = []
}
