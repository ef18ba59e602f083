terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.23"
    }
  }

  # Keep the state in a bucket of the project (create it once, then uncomment):
  # backend "gcs" {
  #   bucket = "PROJECT-terraform-state"
  #   prefix = "switchyard"
  # }
}
