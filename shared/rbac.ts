// The Kubernetes rights Switchyard's functions need in a target's namespace, and nothing more: one
// rule per kind of object, with exactly the verbs of the API calls in shared/kubernetes/ (the adapter),
// shared/routers/ and shared/analysis/providers/ (job, web). Terraform's RBAC module
// (infra/terraform/modules/switchyard-rbac) declares the same rules; infra/terraform/terraform.test.ts
// checks that they are equal, and test/kubernetes/rbac.test.ts runs a release with these rights alone.
//
// Switchyard only creates Events (never reads or changes them), reads no ReplicaSets and needs
// nothing cluster-wide, so there are no such rules.
import type { V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { providerDefinitions } from './analysis/providers/schemas.ts';
import { labels, managerName } from './kubernetes/types.ts';
import type { PolicyRule } from './plugin.ts';
import { routerDefinitions } from './routers/registry.ts';

export type { PolicyRule };

/** The engine's own rules: revisions, Services, endpoints, HPAs, Events. */
const engineRules: readonly PolicyRule[] = [
  // Revisions and the plain Deployment they adopt: read, list by label, create, scale (merge
  // patch), delete old revisions (kubernetes/deployment-writes.ts, snapshot.ts).
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: ['get', 'list', 'create', 'patch', 'delete'],
    why: 'revisions: create, scale, read status, remove old ones; adopt a plain Deployment',
  },
  // Active/preview/stable Services: read, switch their selector (kubernetes/service-selectors.ts, service-selector router).
  {
    apiGroups: [''],
    resources: ['services'],
    verbs: ['get', 'patch'],
    why: 'switch the selector of the active, preview, stable Service',
  },
  // Which revision an endpoint belongs to (kubernetes/endpoints.ts).
  { apiGroups: [''], resources: ['pods'], verbs: ['list'], why: 'which revision an endpoint belongs to' },
  {
    apiGroups: ['discovery.k8s.io'],
    resources: ['endpointslices'],
    verbs: ['list'],
    why: 'ready endpoints before traffic moves',
  },
  // HPAs follow the serving revision (kubernetes/hpa.ts).
  {
    apiGroups: ['autoscaling'],
    resources: ['horizontalpodautoscalers'],
    verbs: ['list', 'patch'],
    why: 'move the HPA to the serving revision',
  },
  // Each phase change of a release, recorded on its revision (kubectl describe / get events).
  {
    apiGroups: ['events.k8s.io'],
    resources: ['events'],
    verbs: ['create'],
    why: 'each phase change of a release, recorded on its revision (`kubectl describe`, `kubectl get events`)',
  },
];

/**
 * The rules of Switchyard's Role in a target namespace: the engine's, then each metric provider's
 * and each traffic router's, from their definitions (a plugin brings its rights with it).
 */
export const switchyardRules: readonly PolicyRule[] = [
  ...engineRules,
  ...providerDefinitions.flatMap((d): readonly PolicyRule[] => d.rules),
  ...routerDefinitions.flatMap((d): readonly PolicyRule[] => d.rules),
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
