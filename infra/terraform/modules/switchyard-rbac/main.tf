# Switchyard's rights in a cluster: in each target namespace a Role with exactly the verbs its code
# uses, bound to the functions' Google identities (GKE authenticates a Google service account as the
# Kubernetes user named by its email). Nothing cluster-wide: no ClusterRole, no ClusterRoleBinding.
#
# local.rules mirrors switchyardRules in shared/rbac.ts (the engine's rules, then each metric
# provider's and each traffic router's, from their definitions); infra/terraform/terraform.test.ts
# fails when the two differ, and test/kubernetes/rbac.test.ts runs a release with these rights alone.

locals {
  rules = [
    { api_groups = ["apps"], resources = ["deployments"], verbs = ["get", "list", "create", "patch", "delete"] },
    { api_groups = [""], resources = ["services"], verbs = ["get", "patch"] },
    { api_groups = [""], resources = ["pods"], verbs = ["list"] },
    { api_groups = ["discovery.k8s.io"], resources = ["endpointslices"], verbs = ["list"] },
    { api_groups = ["autoscaling"], resources = ["horizontalpodautoscalers"], verbs = ["list", "patch"] },
    { api_groups = ["events.k8s.io"], resources = ["events"], verbs = ["create"] },
    { api_groups = [""], resources = ["services/proxy"], verbs = ["get", "create", "update"] },
    { api_groups = ["batch"], resources = ["jobs"], verbs = ["get", "create", "delete"] },
    { api_groups = ["gateway.networking.k8s.io"], resources = ["httproutes"], verbs = ["get", "patch"] },
    { api_groups = ["networking.k8s.io"], resources = ["ingresses"], verbs = ["get", "create", "patch", "delete"] },
  ]

  labels = {
    "app.kubernetes.io/part-of"    = "switchyard"
    "app.kubernetes.io/managed-by" = "terraform"
  }
}

resource "kubernetes_role_v1" "switchyard" {
  for_each = toset(var.namespaces)

  metadata {
    name      = var.name
    namespace = each.value
    labels    = local.labels
  }

  dynamic "rule" {
    for_each = local.rules
    content {
      api_groups = rule.value.api_groups
      resources  = rule.value.resources
      verbs      = rule.value.verbs
    }
  }
}

resource "kubernetes_role_binding_v1" "switchyard" {
  for_each = toset(var.namespaces)

  metadata {
    name      = var.name
    namespace = each.value
    labels    = local.labels
  }

  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role_v1.switchyard[each.key].metadata[0].name
  }

  dynamic "subject" {
    for_each = toset(var.members)
    content {
      api_group = "rbac.authorization.k8s.io"
      kind      = "User"
      name      = subject.value
    }
  }
}
