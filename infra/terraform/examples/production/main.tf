# A production install of Switchyard: the functions, topics, database and scheduler in one project,
# and Switchyard's Role in the namespaces of one GKE cluster. For more clusters, repeat the
# `google_container_cluster` data source, the aliased kubernetes provider and the switchyard-rbac
# module per cluster, and list every cluster's project in cluster_projects.

provider "google" {
  project = var.project_id
  region  = var.region
}

module "switchyard" {
  source = "../../modules/switchyard"

  project_id         = var.project_id
  region             = var.region
  source_zip         = var.source_zip
  create_gcr_topic   = var.create_gcr_topic
  cluster_projects   = distinct([var.project_id, var.cluster.project])
  notifier_secrets   = var.notifier_secrets
  operators          = var.operators
  access_policy      = var.access_policy
  image_repositories = var.image_repositories
}

# Terraform reaches the cluster the way the functions do: endpoint and CA from the Container API,
# a Google access token.
data "google_client_config" "current" {}

data "google_container_cluster" "target" {
  project  = var.cluster.project
  location = var.cluster.location
  name     = var.cluster.name
}

provider "kubernetes" {
  alias                  = "target"
  host                   = "https://${data.google_container_cluster.target.endpoint}"
  token                  = data.google_client_config.current.access_token
  cluster_ca_certificate = base64decode(data.google_container_cluster.target.master_auth[0].cluster_ca_certificate)
}

module "switchyard_rbac" {
  source = "../../modules/switchyard-rbac"
  providers = {
    kubernetes = kubernetes.target
  }

  namespaces = var.namespaces
  members    = module.switchyard.kubernetes_members
}
