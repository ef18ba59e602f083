import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, test } from 'vitest';
import {
  deploymentName,
  greenTemplate,
  imageRepository,
  revisionDeployment,
  revisionOf,
} from './revision.ts';
import { annotations, labels, managerName } from './types.ts';

const repo = 'us-docker.pkg.dev/acme/apps/api';

function template(image = `${repo}@sha256:aaa`, extraLabels: Record<string, string> = {}): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'api', ...extraLabels } },
    spec: {
      containers: [
        { name: 'api', image, ports: [{ containerPort: 8080 }] },
        { name: 'proxy', image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.11' },
      ],
    },
  };
}

describe('revisionOf', () => {
  test('is 10 lowercase hex digits and the same for the same template', () => {
    const rev = revisionOf(template());
    expect(rev).toMatch(/^[0-9a-f]{10}$/);
    expect(revisionOf(template())).toBe(rev);
  });

  test('does not depend on key order', () => {
    const a: V1PodTemplateSpec = { metadata: { labels: { a: '1', b: '2' } }, spec: { containers: [] } };
    const b: V1PodTemplateSpec = { spec: { containers: [] }, metadata: { labels: { b: '2', a: '1' } } };
    expect(revisionOf(a)).toBe(revisionOf(b));
  });

  test('changes when the image changes', () => {
    expect(revisionOf(template(`${repo}@sha256:bbb`))).not.toBe(revisionOf(template()));
  });

  test('changes when the restart annotation is set', () => {
    const restarted = greenTemplate(
      template(),
      `${repo}@sha256:aaa`,
      undefined,
      repo,
      '2025-01-01T00:00:00Z',
    );
    expect(revisionOf(restarted)).not.toBe(revisionOf(template()));
  });

  test('ignores the labels Switchyard and the ReplicaSet controller add', () => {
    const plain = template();
    const labelled = template(undefined, {
      [labels.revision]: 'abcdef0123',
      [labels.name]: 'api',
      'pod-template-hash': '5d8f9c7b6',
    });
    expect(revisionOf(labelled)).toBe(revisionOf(plain));
    // A template whose only labels are ours hashes like one without labels.
    const bare: V1PodTemplateSpec = { spec: { containers: [{ name: 'api', image: 'x' }] } };
    const onlyOurs: V1PodTemplateSpec = { ...bare, metadata: { labels: { [labels.revision]: 'r' } } };
    expect(revisionOf(onlyOurs)).toBe(revisionOf(bare));
  });

  test('sees other label changes', () => {
    expect(revisionOf(template(undefined, { tier: 'web' }))).not.toBe(revisionOf(template()));
  });

  test('a revision Deployment template hashes like the template it was built from', () => {
    const t = template();
    const rev = revisionOf(t);
    const d = revisionDeployment({
      namespace: 'shop',
      workload: 'api',
      revision: rev,
      template: t,
      replicas: 2,
      progressDeadlineSeconds: 600,
      releaseId: 'r1',
      target: 'api',
    });
    expect(revisionOf(d.spec!.template)).toBe(rev);
  });
});

describe('imageRepository', () => {
  test.each([
    ['us-docker.pkg.dev/acme/apps/api', repo],
    ['us-docker.pkg.dev/acme/apps/api:1.2.3', repo],
    ['us-docker.pkg.dev/acme/apps/api@sha256:abc', repo],
    ['us-docker.pkg.dev/acme/apps/api:1.2.3@sha256:abc', repo],
    ['localhost:5000/api', 'localhost:5000/api'],
    ['localhost:5000/api:v1', 'localhost:5000/api'],
    ['nginx', 'nginx'],
  ])('%s → %s', (image, expected) => {
    expect(imageRepository(image)).toBe(expected);
  });
});

describe('greenTemplate', () => {
  const digest = `${repo}@sha256:ccc`;

  test('sets the image on the containers of the repository only, leaving the input alone', () => {
    const stable = template(`${repo}:1.0`);
    const green = greenTemplate(stable, digest, undefined, repo);
    expect(green.spec?.containers.map((c) => c.image)).toEqual([
      digest,
      'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.11',
    ]);
    expect(stable.spec?.containers[0]?.image).toBe(`${repo}:1.0`);
    expect(green.metadata?.annotations?.[annotations.restartedAt]).toBeUndefined();
  });

  test('accepts the repository with a tag or digest', () => {
    const green = greenTemplate(template(), digest, undefined, `${repo}:latest`);
    expect(green.spec?.containers[0]?.image).toBe(digest);
  });

  test('sets the image on named containers', () => {
    const green = greenTemplate(template(), 'gcr.io/other/proxy@sha256:ddd', ['proxy'], repo);
    expect(green.spec?.containers.map((c) => c.image)).toEqual([
      `${repo}@sha256:aaa`,
      'gcr.io/other/proxy@sha256:ddd',
    ]);
  });

  test('sets the restart annotation when asked', () => {
    const green = greenTemplate(template(), digest, undefined, repo, '2025-06-01T12:00:00Z');
    expect(green.metadata?.annotations).toEqual({ [annotations.restartedAt]: '2025-06-01T12:00:00Z' });
  });

  test('fails clearly when no container runs an image of the repository', () => {
    expect(() => greenTemplate(template(), digest, undefined, 'us-docker.pkg.dev/acme/apps/web')).toThrow(
      /no container of the pod template runs an image from "us-docker.pkg.dev\/acme\/apps\/web" \(containers: api=.*, proxy=.*\)/,
    );
    try {
      greenTemplate(template(), digest, undefined, 'us-docker.pkg.dev/acme/apps/web');
    } catch (err) {
      expect((err as { kind?: string }).kind).toBe('invalid');
    }
  });

  test('fails clearly when a named container does not exist', () => {
    expect(() => greenTemplate(template(), digest, ['api', 'worker'], repo)).toThrow(
      /no container named "worker"/,
    );
  });
});

describe('revisionDeployment', () => {
  test('names, labels, selects and annotates the revision', () => {
    const d = revisionDeployment({
      namespace: 'shop',
      workload: 'api',
      revision: '0123456789',
      template: template(),
      replicas: 3,
      progressDeadlineSeconds: 120,
      releaseId: 'rel-1',
      target: 'api-prod',
    });
    expect(deploymentName('api', '0123456789')).toBe('api-0123456789');
    expect(d.metadata).toEqual({
      name: 'api-0123456789',
      namespace: 'shop',
      labels: { [labels.name]: 'api', [labels.revision]: '0123456789', [labels.managedBy]: managerName },
      annotations: { [annotations.release]: 'rel-1', [annotations.target]: 'api-prod' },
    });
    expect(d.spec?.selector).toEqual({
      matchLabels: { [labels.name]: 'api', [labels.revision]: '0123456789' },
    });
    expect(d.spec?.template.metadata?.labels).toEqual({
      app: 'api',
      [labels.name]: 'api',
      [labels.revision]: '0123456789',
    });
    expect(d.spec?.replicas).toBe(3);
    expect(d.spec?.progressDeadlineSeconds).toBe(120);
    expect(d.spec?.strategy).toBeUndefined();
  });
});
