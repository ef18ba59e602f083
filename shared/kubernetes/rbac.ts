// The Kubernetes rights Switchyard's functions need in a target's namespace, and nothing more: one
// rule per kind of object, with exactly the verbs of the API calls in shared/kubernetes/cluster.ts,
// shared/routers/ and shared/analysis/providers/ (job, web). Terraform's RBAC module
// (infra/terraform/modules/switchyard-rbac) declares the same rules; infra/terraform/terraform.test.ts
// checks that they are equal, and test/kubernetes/rbac.test.ts runs a release with these rights alone.
//
// Switchyard only creates Events (never reads or changes them), reads no ReplicaSets and needs
// nothing cluster-wide, so there are no such rules.
import type { V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { labels, managerName } from './types.ts';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** What Switchyard does with these rights: the "used for" column of infra/DEPLOY.md (npm run docs). */
  why: string;
}

/** The rules of Switchyard's Role in a target namespace. */
export const switchyardRules: readonly PolicyRule[] = [
  // Revisions and the plain Deployment they adopt: read, list by label, create, scale (merge
  // patch), delete old revisions (cluster.ts).
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: ['get', 'list', 'create', 'patch', 'delete'],
    why: 'revisions: create, scale, read status, remove old ones; adopt a plain Deployment',
  },
  // Active/preview/stable Services: read, switch their selector (cluster.ts, service-selector router).
  {
    apiGroups: [''],
    resources: ['services'],
    verbs: ['get', 'patch'],
    why: 'switch the selector of the active, preview, stable Service',
  },
  // The web metric provider reaching a Service through the API server (GET, POST or PUT).
  {
    apiGroups: [''],
    resources: ['services/proxy'],
    verbs: ['get', 'create', 'update'],
    why: 'the `web` metric provider reaching a Service through the API server',
  },
  // Which revision an endpoint belongs to (cluster.ts endpoints()).
  { apiGroups: [''], resources: ['pods'], verbs: ['list'], why: 'which revision an endpoint belongs to' },
  {
    apiGroups: ['discovery.k8s.io'],
    resources: ['endpointslices'],
    verbs: ['list'],
    why: 'ready endpoints before traffic moves',
  },
  // HPAs follow the serving revision (cluster.ts moveHpa()).
  {
    apiGroups: ['autoscaling'],
    resources: ['horizontalpodautoscalers'],
    verbs: ['list', 'patch'],
    why: 'move the HPA to the serving revision',
  },
  // The job metric provider: one Job per measurement, removed when it has finished.
  {
    apiGroups: ['batch'],
    resources: ['jobs'],
    verbs: ['get', 'create', 'delete'],
    why: 'the `job` metric provider: one Job per measurement, removed when it has finished',
  },
  // The nginx router: the canary Ingress beside the user's (which it only reads).
  {
    apiGroups: ['networking.k8s.io'],
    resources: ['ingresses'],
    verbs: ['get', 'create', 'patch', 'delete'],
    why: "the NGINX canary Ingress beside the user's (which it only reads)",
  },
  // The Gateway API router: weights of the user's HTTPRoute.
  {
    apiGroups: ['gateway.networking.k8s.io'],
    resources: ['httproutes'],
    verbs: ['get', 'patch'],
    why: "Gateway API weights in the user's HTTPRoute",
  },
  // Each phase change of a release, recorded on its revision (kubectl describe / get events).
  {
    apiGroups: ['events.k8s.io'],
    resources: ['events'],
    verbs: ['create'],
    why: 'each phase change of a release, recorded on its revision (`kubectl describe`, `kubectl get events`)',
  },
];

/** Name of Switchyard's Role and RoleBinding in each target namespace. */
export const rbacName = 'switchyard';

export interface RbacManifests {
  role: V1Role;
  roleBinding: V1RoleBinding;
}

/**
 * The Role with Switchyard's rules in `namespace` and the RoleBinding granting it to `members`:
 * Kubernetes user names, which on GKE are the functions' Google service-account emails.
 */
export function rbacManifests(namespace: string, members: string[], name = rbacName): RbacManifests {
  if (members.length === 0) throw new Error('a RoleBinding needs at least one member');
  const metadata = { name, namespace, labels: { [labels.managedBy]: managerName } };
  return {
    role: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata,
      rules: switchyardRules.map(
        (r): V1PolicyRule => ({
          apiGroups: [...r.apiGroups],
          resources: [...r.resources],
          verbs: [...r.verbs],
        }),
      ),
    },
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [...new Set(members)].map((member) => ({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'User',
        name: member,
      })),
    },
  };
}
