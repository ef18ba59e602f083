// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Terraform expressions, not JavaScript templates
// The Terraform under infra/terraform cannot drift from the code: every .tf file is parsed with
// HashiCorp's own HCL parser (@cdktf/hcl2json, WebAssembly, offline; see ./model.ts), and what it declares is
// checked against the code's registries: functions, topics and subscriptions (shared/topology.ts),
// entry points (functions/index.ts), Kubernetes rules (shared/rbac.ts), Firestore
// collections and queries (shared/adapters/collections.ts and every query in shared/ and cli/).
// No terraform binary and no network are needed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collections } from '../../shared/adapters/collections.ts';
import { switchyardRules } from '../../shared/rbac.ts';
import { artifactRegistryTopic, functionNames, stepNames, topology } from '../../shared/topology.ts';
import {
  evaluate,
  type Grant,
  grants,
  loadModules,
  type Module,
  type Obj,
  one,
  repoRoot,
  resource,
  terraformRoot as root,
  strings,
  tfFiles,
} from './model.ts';

let sy: Module;
let rbac: Module;
let production: Module;
let all: Module[];

beforeAll(async () => {
  ({ sy, rbac, production } = await loadModules());
  all = [sy, rbac, production];
});

const registry = topology('switchyard');

interface FunctionEntry {
  triggers: { topic: string; subscription: string }[];
  dead_letter_topic: string;
  max_delivery_attempts: number;
  ack_deadline_seconds: number;
  memory_mib: number;
  timeout_seconds: number;
  max_instances: number;
  publishes: string[];
  kubernetes: boolean;
  monitoring: boolean;
  secrets: boolean;
}

function functionsLocal(m: Module, prefix = 'switchyard'): Record<string, FunctionEntry> {
  return evaluate(m, m.locals.functions, { prefix }) as unknown as Record<string, FunctionEntry>;
}

describe('the Terraform files', () => {
  it('are every .tf file under infra/terraform, each parsed by the HCL parser', () => {
    const parsed = all.flatMap((m) => Object.keys(m.files).map((f) => join(m.dir, f)));
    expect(parsed.sort()).toEqual(tfFiles(root));
    expect(Object.keys(sy.resources).length).toBeGreaterThan(10);
  });

  it('pin the providers: hashicorp/google >= 6, hashicorp/kubernetes for RBAC', () => {
    const providers = (m: Module) =>
      Object.assign({}, ...m.terraform.flatMap((t) => (t.required_providers ?? []) as Obj[])) as Record<
        string,
        { source: string; version: string }
      >;
    for (const m of [sy, production]) {
      expect(providers(m).google).toEqual({ source: 'hashicorp/google', version: '>= 6.0' });
    }
    expect(providers(rbac).kubernetes?.source).toBe('hashicorp/kubernetes');
    expect(providers(rbac).google).toBeUndefined();
  });
});

describe('functions: the registry (shared/topology.ts) and the entry points', () => {
  it('declares every function of the registry, with its triggers, dead-letter topic and limits', () => {
    const declared = functionsLocal(sy);
    expect(Object.keys(declared).sort()).toEqual([...functionNames].sort());
    for (const fn of registry.functions) {
      const tf = declared[fn.name]!;
      expect(tf.triggers, fn.name).toEqual(fn.triggers);
      expect(tf.dead_letter_topic, fn.name).toBe(fn.deadLetterTopic);
      expect(tf.max_delivery_attempts, fn.name).toBe(fn.maxDeliveryAttempts);
      expect(tf.ack_deadline_seconds, fn.name).toBe(fn.ackDeadlineSeconds);
      expect(tf.memory_mib, fn.name).toBe(fn.memoryMiB);
      expect(tf.timeout_seconds, fn.name).toBe(fn.timeoutSeconds);
      expect(tf.max_instances, fn.name).toBeGreaterThan(0);
    }
  });

  it('follows the registry for another prefix too', () => {
    const declared = functionsLocal(sy, 'sy-staging');
    for (const fn of topology('sy-staging').functions) {
      expect(declared[fn.name]?.triggers).toEqual(fn.triggers);
      expect(declared[fn.name]?.dead_letter_topic).toBe(fn.deadLetterTopic);
    }
  });

  it('deploys each as a gen2 function on nodejs24 whose entry point is its name, with its memory and timeout', () => {
    const fn = resource(sy, 'google_cloudfunctions2_function', 'function');
    expect(fn.for_each).toBe('${local.functions}');
    expect(fn.name).toBe('${var.prefix}-${each.key}');
    const build = one(fn.build_config, 'build_config');
    expect(build.runtime).toBe('nodejs24');
    expect(build.entry_point).toBe('${each.key}');
    const source = one(one(build.source, 'source').storage_source, 'storage_source');
    expect(source.object).toBe('${google_storage_bucket_object.source.name}');
    const service = one(fn.service_config, 'service_config');
    expect(service.available_memory).toBe('${each.value.memory_mib}Mi');
    expect(service.timeout_seconds).toBe('${each.value.timeout_seconds}');
    expect(service.max_instance_count).toBe('${each.value.max_instances}');
    expect(service.min_instance_count).toBe(0);
    expect(service.ingress_settings).toBe('ALLOW_INTERNAL_ONLY');
    expect(service.service_account_email).toBe('${google_service_account.function[each.key].email}');
    // What shared/config.ts needs to find the project, the topics and the database.
    for (const env of ['GOOGLE_CLOUD_PROJECT', 'SWITCHYARD_PREFIX', 'SWITCHYARD_DATABASE']) {
      expect(String(service.environment_variables)).toContain(env);
    }
    const sa = resource(sy, 'google_service_account', 'function');
    expect(sa.for_each).toBe('${local.functions}');
  });

  it('uploads the built package under a name that changes with its content', () => {
    const object = resource(sy, 'google_storage_bucket_object', 'source');
    expect(object.name).toBe('switchyard-functions-${filemd5(var.source_zip)}.zip');
    expect(object.source).toBe('${var.source_zip}');
  });

  it('names entry points that functions/index.ts registers with functions-framework', async () => {
    await import('../../functions/index.ts');
    const { getFunction } = await import('@google-cloud/functions-framework/testing');
    for (const name of Object.keys(functionsLocal(sy))) {
      expect(getFunction(name), `entry point ${name}`).toBeTypeOf('function');
    }
  });
});

describe('topics and subscriptions', () => {
  it('creates every topic of the registry, and gcr unless told it exists', () => {
    const owned = [
      ...stepNames.map((s) => registry.stepTopic[s]),
      registry.controlTopic,
      registry.sweepTopic,
      registry.eventsTopic,
    ];
    expect((evaluate(sy, sy.locals.topics, { prefix: 'switchyard' }) as string[]).sort()).toEqual(
      owned.sort(),
    );
    expect(evaluate(sy, sy.locals.step_topics)).toEqual(registry.stepTopic);
    expect(evaluate(sy, sy.locals.control_topic)).toBe(registry.controlTopic);
    expect(evaluate(sy, sy.locals.sweep_topic)).toBe(registry.sweepTopic);
    expect(evaluate(sy, sy.locals.events_topic)).toBe(registry.eventsTopic);
    expect(resource(sy, 'google_pubsub_topic', 'switchyard').for_each).toBe('${toset(local.topics)}');

    expect(sy.locals.gcr_topic).toBe(artifactRegistryTopic);
    const gcr = resource(sy, 'google_pubsub_topic', 'gcr');
    expect(gcr.name).toBe('${local.gcr_topic}');
    expect(gcr.count).toBe('${var.create_gcr_topic ? 1 : 0}');
    expect(sy.variables.create_gcr_topic?.default).toBe(true);

    // Every topic a function is triggered by is one of these.
    for (const fn of registry.functions) {
      for (const t of fn.triggers) expect([...owned, artifactRegistryTopic]).toContain(t.topic);
    }
  });

  it('gives each function a dead-letter topic, held by a subscription so nothing dead-lettered is lost', () => {
    const dlq = resource(sy, 'google_pubsub_topic', 'dead_letter');
    expect(dlq.for_each).toBe('${local.functions}');
    expect(dlq.name).toBe('${each.value.dead_letter_topic}');
    const hold = resource(sy, 'google_pubsub_subscription', 'dead_letter_hold');
    expect(hold.topic).toBe('${google_pubsub_topic.dead_letter[each.key].id}');
    expect(one(hold.expiration_policy, 'expiration_policy').ttl).toBe('');
  });

  it('pushes every trigger to its function with retry, dead-lettering after the registry attempts', () => {
    expect(String(sy.locals.triggers)).toContain('for t in fn.triggers : t.subscription =>');
    const sub = resource(sy, 'google_pubsub_subscription', 'trigger');
    expect(sub.for_each).toBe('${local.triggers}');
    expect(sub.name).toBe('${each.key}');
    expect(sub.topic).toBe('projects/${var.project_id}/topics/${each.value.topic}');
    expect(sub.ack_deadline_seconds).toBe('${local.functions[each.value.function].ack_deadline_seconds}');
    const retry = one(sub.retry_policy, 'retry_policy');
    expect(retry.minimum_backoff).toBe('${var.retry_minimum_backoff}');
    expect(retry.maximum_backoff).toBe('${var.retry_maximum_backoff}');
    const dead = one(sub.dead_letter_policy, 'dead_letter_policy');
    expect(dead.dead_letter_topic).toBe('${google_pubsub_topic.dead_letter[each.value.function].id}');
    expect(dead.max_delivery_attempts).toBe('${local.functions[each.value.function].max_delivery_attempts}');
    // A quiet month must not expire the subscriptions.
    expect(one(sub.expiration_policy, 'expiration_policy').ttl).toBe('');
    const push = one(sub.push_config, 'push_config');
    const oidc = one(push.oidc_token, 'oidc_token');
    expect(oidc.service_account_email).toBe('${google_service_account.invoker.email}');

    // Each subscription of the registry is one entry of local.triggers.
    const fromTf = Object.values(functionsLocal(sy)).flatMap((f) => f.triggers.map((t) => t.subscription));
    const fromCode = registry.functions.flatMap((f) => f.triggers.map((t) => t.subscription));
    expect(fromTf.sort()).toEqual(fromCode.sort());
    expect(new Set(fromTf).size).toBe(fromTf.length);
  });

  it('lets the Pub/Sub service agent dead-letter and sign the pushes, and only the invoker invoke', () => {
    expect(sy.locals.pubsub_agent).toBe(
      'serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com',
    );
    const publisher = resource(sy, 'google_pubsub_topic_iam_member', 'dead_letter_publisher');
    expect(publisher).toMatchObject({
      for_each: '${local.functions}',
      role: 'roles/pubsub.publisher',
      member: '${local.pubsub_agent}',
      topic: '${google_pubsub_topic.dead_letter[each.key].name}',
    });
    const subscriber = resource(sy, 'google_pubsub_subscription_iam_member', 'dead_letter_subscriber');
    expect(subscriber).toMatchObject({
      for_each: '${local.triggers}',
      role: 'roles/pubsub.subscriber',
      member: '${local.pubsub_agent}',
    });
    expect(resource(sy, 'google_service_account_iam_member', 'pubsub_token_creator')).toMatchObject({
      role: 'roles/iam.serviceAccountTokenCreator',
      member: '${local.pubsub_agent}',
    });
    expect(resource(sy, 'google_cloud_run_service_iam_member', 'invoker')).toMatchObject({
      for_each: '${local.functions}',
      role: 'roles/run.invoker',
      member: 'serviceAccount:${google_service_account.invoker.email}',
    });
  });
});

describe('the push path carries the topic (functions-framework, functions/shell.ts)', () => {
  it('a raw push to the subscription endpoint reaches the function with the topic it was published on', async () => {
    process.env.GOOGLE_CLOUD_PROJECT ??= 'drift-test';
    const ff = await import('@google-cloud/functions-framework');
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    const { shell } = await import('../../functions/shell.ts');
    const seen: string[] = [];
    ff.cloudEvent(
      'topic-probe',
      shell('topic-probe', async (_d, msg) => {
        seen.push(msg.topic);
      }),
    );
    const server = getTestServer('topic-probe');
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as { port: number };
    const endpoint = one(
      resource(sy, 'google_pubsub_subscription', 'trigger').push_config,
      'push',
    ).push_endpoint;
    try {
      for (const topic of ['gcr', 'switchyard-deploy-green']) {
        // The endpoint as Terraform builds it, on this test server instead of the function's URI.
        const url = String(evaluate(sy, endpoint, { project_id: 'acme' }))
          .replace(
            '${google_cloudfunctions2_function.function[each.value.function].service_config[0].uri}',
            '',
          )
          .replace('${each.value.topic}', topic);
        expect(url).toBe(`/projects/acme/topics/${topic}`);
        const res = await fetch(`http://127.0.0.1:${port}${url}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            message: { data: Buffer.from('{}').toString('base64'), messageId: `m-${topic}` },
            subscription: 'projects/acme/subscriptions/s',
          }),
        });
        expect(res.status).toBeLessThan(300);
      }
    } finally {
      await new Promise((done) => server.close(done));
    }
    expect(seen).toEqual(['gcr', 'switchyard-deploy-green']);
  });
});

describe('IAM: least privilege', () => {
  it('grants no primitive role anywhere, and no authoritative IAM binding or policy', () => {
    for (const m of all) {
      for (const [file, parsed] of Object.entries(m.files)) {
        for (const s of strings(parsed)) {
          expect(s, `${relative(repoRoot, m.dir)}/${file}`).not.toMatch(/roles\/(owner|editor|viewer)\b/);
        }
        for (const type of Object.keys((parsed.resource ?? {}) as Obj)) {
          expect(type, file).not.toMatch(/_iam_(binding|policy)$/);
        }
      }
    }
  });

  it('uses only the roles the code needs', () => {
    const roles = new Set<string>();
    for (const m of all) {
      for (const byName of Object.values(m.resources)) {
        for (const r of Object.values(byName)) if (typeof r.role === 'string') roles.add(r.role);
      }
    }
    for (const r of Object.values(evaluate(sy, sy.locals.build_roles) as Obj) as { role: string }[])
      roles.add(r.role);
    roles.delete('${each.value.role}');
    expect([...roles].sort()).toEqual(
      [
        'roles/artifactregistry.reader',
        'roles/artifactregistry.writer',
        'roles/container.clusterViewer',
        'roles/datastore.user',
        'roles/datastore.viewer',
        'roles/iam.serviceAccountTokenCreator',
        'roles/logging.logWriter',
        'roles/monitoring.viewer',
        'roles/pubsub.publisher',
        'roles/pubsub.subscriber',
        'roles/run.invoker',
        'roles/secretmanager.secretAccessor',
        'roles/storage.objectViewer',
      ].sort(),
    );
  });

  it('gives each function its own service account and only the rights its code uses', () => {
    const fns = functionsLocal(sy);
    const handOver = [...stepNames.map((s) => registry.stepTopic[s]), registry.eventsTopic].sort();
    for (const name of functionNames) {
      const fn = fns[name]!;
      // Every function that commits release transitions hands over to the next step (any step can
      // follow) and publishes release events; notify publishes nothing.
      expect([...fn.publishes].sort(), name).toEqual(name === 'notify' ? [] : handOver);
      // Steps and the sweep (which removes old revisions) talk to the clusters.
      expect(fn.kubernetes, name).toBe((stepNames as readonly string[]).includes(name) || name === 'sweep');
      // Measurements are taken by analyze alone (phases whose step is analyze).
      expect(fn.monitoring, name).toBe(name === 'analyze');
      expect(fn.secrets, name).toBe(name === 'notify');
    }
    expect(resource(sy, 'google_pubsub_topic_iam_member', 'publisher')).toMatchObject({
      for_each: '${local.publisher_grants}',
      role: 'roles/pubsub.publisher',
      member: '${local.function_members[each.value.function]}',
    });
    expect(String(sy.locals.publisher_grants)).toContain('for topic in fn.publishes');
    expect(String(sy.locals.cluster_grants)).toContain('if fn.kubernetes');
    expect(String(sy.locals.monitoring_grants)).toContain('if fn.monitoring');
    expect(String(sy.locals.secret_grants)).toContain('if fn.secrets');
    expect(resource(sy, 'google_project_iam_member', 'cluster_viewer').role).toBe(
      'roles/container.clusterViewer',
    );
    expect(resource(sy, 'google_project_iam_member', 'monitoring_viewer').role).toBe(
      'roles/monitoring.viewer',
    );
    expect(resource(sy, 'google_secret_manager_secret_iam_member', 'notifier').role).toBe(
      'roles/secretmanager.secretAccessor',
    );
    // Firestore rights are limited to Switchyard's database.
    const firestore = resource(sy, 'google_project_iam_member', 'firestore');
    expect(firestore.role).toBe('roles/datastore.user');
    expect(one(firestore.condition, 'condition').expression).toBe('${local.firestore_binding}');
  });

  it('mounts the notifier secrets in notify at /etc/secrets/<id>/<id>', () => {
    const service = one(
      resource(sy, 'google_cloudfunctions2_function', 'function').service_config,
      'service',
    );
    const volumes = one((service.dynamic as Obj).secret_volumes, 'secret_volumes');
    expect(volumes.for_each).toBe('${each.value.secrets ? toset(var.notifier_secrets) : toset([])}');
    const content = one(volumes.content, 'content');
    expect(content.mount_path).toBe('/etc/secrets/${secret_volumes.value}');
    expect(content.secret).toBe('${secret_volumes.value}');
    expect(one(content.versions, 'versions')).toEqual({ version: 'latest', path: '${secret_volumes.value}' });
  });
});

describe('IAM: every grant, as infra/terraform/model.ts reads them (the table of infra/DEPLOY.md)', () => {
  const pair = (g: Grant) => `${g.identity} ${g.role}`;
  /** Every (identity, role) the module may grant: a new one is added here, on purpose. */
  const allowed = [
    ...functionNames.map((f) => `function:${f} roles/datastore.user`),
    ...functionNames.filter((f) => f !== 'notify').map((f) => `function:${f} roles/pubsub.publisher`),
    ...[...stepNames, 'sweep'].map((f) => `function:${f} roles/container.clusterViewer`),
    'function:analyze roles/monitoring.viewer',
    'function:deploy-green roles/artifactregistry.reader',
    'function:notify roles/secretmanager.secretAccessor',
    'account:invoker roles/run.invoker',
    'pubsub-agent roles/pubsub.publisher',
    'pubsub-agent roles/pubsub.subscriber',
    'pubsub-agent roles/iam.serviceAccountTokenCreator',
    'account:build roles/logging.logWriter',
    'account:build roles/storage.objectViewer',
    'account:build roles/artifactregistry.writer',
    'var:operators roles/pubsub.publisher',
    'var:operators roles/datastore.viewer',
  ];

  it('reads every IAM member resource, all of them in the switchyard module', () => {
    const read = new Set(grants(sy).map((g) => g.address.replace(/\[.*\]$/, '')));
    const declared = Object.entries(sy.resources)
      .filter(([type]) => type.endsWith('_iam_member'))
      .flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`));
    expect([...read].sort()).toEqual(declared.sort());
    for (const m of [rbac, production]) {
      expect(Object.keys(m.resources).filter((t) => t.includes('_iam_'))).toEqual([]);
    }
  });

  it('grants only (identity, role) pairs of the allow-list', () => {
    const granted = [...new Set(grants(sy).map(pair))];
    expect(granted.filter((p) => !allowed.includes(p))).toEqual([]);
  });

  it('gives no identity an owner, editor or admin role', () => {
    for (const g of grants(sy)) {
      expect(g.role, g.address).not.toMatch(/^roles\/(owner|editor)$|admin|\.owner$/i);
    }
    for (const m of all) {
      for (const parsed of Object.values(m.files)) {
        for (const s of strings(parsed)) expect(s).not.toMatch(/roles\/[\w.]*(admin|owner)\b/i);
      }
    }
  });

  it('grants project-wide only where the resource has no finer IAM, under a condition where one narrows it', () => {
    // Firestore databases, clusters, Monitoring and Logging have no IAM member resource of their own;
    // the function-source buckets are Cloud Functions', not the module's. Value: needs a condition.
    const projectWide: Record<string, boolean> = {
      'roles/datastore.user': true,
      'roles/datastore.viewer': true,
      'roles/storage.objectViewer': true,
      'roles/container.clusterViewer': false,
      'roles/monitoring.viewer': false,
      'roles/logging.logWriter': false,
    };
    for (const g of grants(sy)) {
      if (g.level !== 'project') {
        // Topics, subscriptions, secrets, Cloud Run services, service accounts, repositories.
        expect(g.role, g.address).toMatch(/^roles\/(pubsub|secretmanager|run|iam|artifactregistry)\./);
        continue;
      }
      expect(Object.keys(projectWide), g.address).toContain(g.role);
      if (projectWide[g.role])
        expect(g.condition, `${g.address}: ${g.role} without a condition`).toBeDefined();
    }
    const firestore = grants(sy).filter((g) => g.role.startsWith('roles/datastore.'));
    for (const g of firestore) {
      expect(g.condition?.expression, g.address).toBe(
        'resource.name == "projects/<project_id>/databases/<firestore_database>"',
      );
    }
  });

  it('gives the operators no Firestore write role (datastore.user or datastore.owner), only datastore.viewer', () => {
    const roles = grants(sy)
      .filter((g) => g.identity === 'var:operators')
      .map((g) => g.role);
    expect(roles).not.toContain('roles/datastore.user');
    expect(roles).not.toContain('roles/datastore.owner');
    expect(roles.sort()).toEqual(['roles/datastore.viewer', 'roles/pubsub.publisher']);
  });
});

describe('Kubernetes RBAC', () => {
  it('declares the rules of shared/rbac.ts, exactly', () => {
    const rules = rbac.locals.rules as { api_groups: string[]; resources: string[]; verbs: string[] }[];
    expect(rules.map((r) => ({ apiGroups: r.api_groups, resources: r.resources, verbs: r.verbs }))).toEqual(
      switchyardRules.map(({ apiGroups, resources, verbs }) => ({ apiGroups, resources, verbs })),
    );
  });

  it('grants them per namespace to the functions as users, nothing cluster-wide', () => {
    const role = resource(rbac, 'kubernetes_role_v1', 'switchyard');
    expect(role.for_each).toBe('${toset(var.namespaces)}');
    expect(one(role.metadata, 'metadata').namespace).toBe('${each.value}');
    const rule = one((role.dynamic as Obj).rule, 'rule');
    expect(rule.for_each).toBe('${local.rules}');
    const binding = resource(rbac, 'kubernetes_role_binding_v1', 'switchyard');
    expect(one(binding.role_ref, 'role_ref')).toMatchObject({ kind: 'Role' });
    const subject = one(one((binding.dynamic as Obj).subject, 'subject').content, 'content');
    expect(subject).toEqual({
      api_group: 'rbac.authorization.k8s.io',
      kind: 'User',
      name: '${subject.value}',
    });
    for (const m of all) {
      for (const type of Object.keys(m.resources)) expect(type).not.toMatch(/cluster_role/);
      for (const parsed of Object.values(m.files)) {
        for (const s of strings(parsed)) expect(s).not.toMatch(/ClusterRole|cluster-admin/);
      }
    }
    for (const r of switchyardRules) expect([...r.verbs, ...r.resources, ...r.apiGroups]).not.toContain('*');
  });

  it('binds the Google identities that talk to Kubernetes (the example wires the module output)', () => {
    expect(String(sy.locals.kubernetes_users)).toContain('if fn.kubernetes');
    expect(production.modules.switchyard_rbac?.members).toBe('${module.switchyard.kubernetes_members}');
    expect(production.modules.switchyard_rbac?.source).toBe('../../modules/switchyard-rbac');
    expect(production.modules.switchyard?.source).toBe('../../modules/switchyard');
  });
});

/** Composite-index needs of the code: every query chain on a collection with more than one field. */
function compositeQueries(): {
  collection: string;
  fields: { field: string; order: string }[];
  at: string;
}[] {
  const found: { collection: string; fields: { field: string; order: string }[]; at: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        const text = readFileSync(join(repoRoot, path), 'utf8');
        const chain = /\.collection\(([^)]*)\)((?:\s*\.(?:where|orderBy|limit)\([^)]*\))+)/g;
        for (const match of text.matchAll(chain)) {
          const arg = match[1]!.trim();
          const key = /^collections\.(\w+)$/.exec(arg)?.[1];
          const collection = key
            ? collections[key as keyof typeof collections]
            : arg.replace(/^['"]|['"]$/g, '');
          const fields: { field: string; order: string }[] = [];
          for (const call of match[2]!.matchAll(/\.(where|orderBy)\(\s*'([^']+)'\s*,\s*'([^']+)'/g)) {
            fields.push({
              field: call[2]!,
              order: call[1] === 'orderBy' && call[3] === 'desc' ? 'DESCENDING' : 'ASCENDING',
            });
          }
          for (const call of match[2]!.matchAll(/\.orderBy\(\s*'([^']+)'\s*\)/g)) {
            fields.push({ field: call[1]!, order: 'ASCENDING' });
          }
          if (new Set(fields.map((f) => f.field)).size > 1) found.push({ collection, fields, at: path });
        }
      }
    }
  };
  walk('shared');
  walk('cli');
  return found;
}

describe('Firestore', () => {
  it('has a composite index for every query of shared/ and cli/ that needs one', () => {
    const indexes = Object.values(sy.resources.google_firestore_index ?? {}).map((ix) => ({
      collection: ix.collection,
      fields: (ix.fields as Obj[]).map((f) => ({ field: f.field_path, order: f.order })),
    }));
    const needed = compositeQueries();
    expect(needed.length).toBeGreaterThan(0);
    for (const q of needed) {
      expect(indexes, `${q.at}: ${q.collection} ${JSON.stringify(q.fields)}`).toContainEqual({
        collection: q.collection,
        fields: q.fields,
      });
    }
    expect(needed.map((q) => q.collection)).toContain(collections.releases);
  });

  it('expires pushes, requests, notifications and Slack threads by TTL on expireAt', () => {
    expect(sy.locals.ttl_collections).toEqual([
      collections.pushes,
      collections.requests,
      collections.notifications,
      collections.slackThreads,
    ]);
    const ttl = resource(sy, 'google_firestore_field', 'ttl');
    expect(ttl).toMatchObject({ for_each: '${toset(local.ttl_collections)}', field: 'expireAt' });
    expect(one(ttl.ttl_config, 'ttl_config')).toEqual({});
  });

  it('creates a native database in pessimistic mode (the transactions assume it)', () => {
    expect(resource(sy, 'google_firestore_database', 'switchyard')).toMatchObject({
      type: 'FIRESTORE_NATIVE',
      concurrency_mode: 'PESSIMISTIC',
      name: '${var.firestore_database}',
    });
  });
});

describe('audit and control identity (issue 11)', () => {
  it('turns on Data Access audit logs for Firestore and Pub/Sub, unless told not to', () => {
    const audit = resource(sy, 'google_project_iam_audit_config', 'data_access');
    // datastore.googleapis.com configures Firestore's audit logs too (firestore.googleapis.com).
    expect(String(audit.for_each)).toContain('var.data_access_audit_logs');
    expect(String(audit.for_each)).toContain('"datastore.googleapis.com", "pubsub.googleapis.com"');
    expect((audit.audit_log_config as Obj[]).map((c) => c.log_type)).toEqual([
      'ADMIN_READ',
      'DATA_READ',
      'DATA_WRITE',
    ]);
    expect(sy.variables.data_access_audit_logs).toMatchObject({ default: true });
  });

  it('hands the operators who may run control commands to the functions, groups left out (an ID token names none)', () => {
    const fn = resource(sy, 'google_cloudfunctions2_function', 'function');
    const env = String(one(fn.service_config, 'service_config').environment_variables);
    expect(env).toContain('SWITCHYARD_OPERATORS');
    expect(env).toContain('!startswith(m, "group:")');
  });

  it('hands the installation access policy to the functions as JSON, and lets operators only read Firestore', () => {
    const fn = resource(sy, 'google_cloudfunctions2_function', 'function');
    const env = String(one(fn.service_config, 'service_config').environment_variables);
    // shared/config.ts reads SWITCHYARD_ACCESS_POLICY as JSON and refuses to start on a bad one.
    expect(env).toMatch(/\bSWITCHYARD_ACCESS_POLICY\s*=\s*jsonencode\(var\.access_policy\)/);
    const policy = sy.variables.access_policy!;
    expect(policy.default).toEqual([]);
    expect(String(policy.type)).toContain('selector = object({ matchLabels = map(string) })');
    // People apply targets through the control function (issue 11): they publish, they never write.
    const operators = resource(sy, 'google_project_iam_member', 'operator_firestore');
    expect(operators.role).toBe('roles/datastore.viewer');
    expect(one(operators.condition, 'condition').expression).toBe('${local.firestore_binding}');
    const writes = Object.values(sy.resources.google_project_iam_member ?? {}).filter(
      (r) =>
        r.for_each === '${toset(var.operators)}' &&
        /datastore\.(user|owner)|owner|editor/.test(String(r.role)),
    );
    expect(writes).toEqual([]);
  });
});

describe('Cloud Scheduler', () => {
  it('publishes a JSON tick on the sweep topic every minute', () => {
    const job = resource(sy, 'google_cloud_scheduler_job', 'sweep');
    expect(job.schedule).toBe('* * * * *');
    const target = one(job.pubsub_target, 'pubsub_target');
    expect(target.topic_name).toBe('${google_pubsub_topic.switchyard[local.sweep_topic].id}');
    expect(target.data).toBe('${base64encode(jsonencode({ kind = "sweep" }))}');
  });
});
