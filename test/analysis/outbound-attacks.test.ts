// Issue 11, outbound requests: what a hostile target author tries in order to make the functions
// reach inside the installation — the metadata server's token endpoint by URL, by a redirect, by a
// host name that resolves there, the API server's service proxy climbed out of with dot segments,
// another team's Slack secret — each refused with a recorded reason (at validate time where the
// address is static, in the analysis run or the notification record otherwise), while a
// well-behaved target's release beside them goes through untouched.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/process.ts';
import { collections } from '../../shared/adapters/collections.ts';
import type { Release } from '../../shared/engine/release.ts';
import type { NotificationRecord } from '../../shared/runtime/notify.ts';
import { validateReleaseTarget } from '../../shared/target/validate.ts';
import { grantSecret, resolveHost } from '../support/installation.ts';
import { startReceiver } from '../support/receiver.ts';
import { type Fixture, type FixtureOptions, releaseFixture } from '../support/release.ts';
import { stack, uniqueId } from '../support/stack.ts';

const tokenUrl = 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token';
const placeholder = '/placeholder-path';

let server: Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url!);
    if (req.url === '/to-metadata') {
      res.writeHead(302, { location: tokenUrl });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errorRate: 0.01 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A blue-green target whose pre-promotion analysis is one web measurement (errors end it at once). */
function webAnalysis(web: Record<string, unknown>): FixtureOptions {
  return {
    analysis: {
      templates: [
        {
          name: 'web',
          metrics: [
            {
              name: 'error-rate',
              count: 1,
              consecutiveErrorLimit: 0,
              successCondition: 'result < 0.05',
              provider: { web: { jsonPath: '$.errorRate', timeoutSeconds: 5, ...web } },
            },
          ],
        },
      ],
    },
    blueGreen: { prePromotionAnalysis: { templates: [{ templateName: 'web' }] } },
  };
}

/**
 * Rewrites a stored target as if it had been stored before the rules of issue 11 (or by hand into
 * Firestore): `placeholder` in its document becomes `value`, which validation would refuse.
 */
async function storeUnchecked(f: Fixture, from: string, value: string): Promise<void> {
  const ref = f.db.collection('targets').doc(f.name);
  const doc = (await ref.get()).data()!;
  const spec = JSON.parse(JSON.stringify(doc.spec).replaceAll(from, value));
  await ref.update({ spec });
}

/** Removes a tampered target document (a no-op when it is gone already). */
async function forget(f: Fixture): Promise<void> {
  await f.db.collection('targets').doc(f.name).delete();
}

const lastMeasurement = (r: Release) => r.analysis.pre?.metrics[0]?.measurements.at(-1);

describe('outbound requests of a hostile target stay outside the installation', () => {
  it('is refused at validate time where the address is static, naming the field', () => {
    const doc = (over: Record<string, unknown>) => ({
      apiVersion: 'switchyard.dev/v1alpha1',
      kind: 'ReleaseTarget',
      metadata: { name: 'hostile' },
      spec: {
        image: { repository: 'us-docker.pkg.dev/acme/apps/api' },
        cluster: { context: 'local' },
        namespace: 'team-b',
        workload: 'api',
        strategy: { blueGreen: { activeService: 'api' } },
        ...over,
      },
    });
    const refused = (web: Record<string, unknown>) => {
      const checked = validateReleaseTarget(doc({ analysis: webAnalysis(web).analysis }), 0);
      return 'errors' in checked ? checked.errors.map((e) => `${e.path}: ${e.message}`).join('\n') : '';
    };
    expect(refused({ url: tokenUrl, headers: [{ name: 'Metadata-Flavor', value: 'Google' }] })).toMatch(
      /provider\.web\.url: 169\.254\.169\.254 is a cloud metadata server: Switchyard never sends requests there[\s\S]*headers\[0\]\.name: header Metadata-Flavor is not passed through/,
    );
    expect(refused({ url: 'http://metadata.google.internal/computeMetadata/v1/' })).toMatch(
      /metadata\.google\.internal is a cloud metadata server/,
    );
    expect(refused({ url: 'http://[fd00:ec2::254]/latest/meta-data/' })).toMatch(/cloud metadata server/);
    for (const path of [
      '/../../../../apis/apps/v1/namespaces/kube-system/deployments',
      '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/api/v1/namespaces/kube-system/secrets',
      '/%2E./x',
      '/%252e%252e/x',
      '/..\\..\\apis',
    ]) {
      expect(refused({ service: { name: 'api', port: 80, path } }), path).toMatch(
        /provider\.web\.service\.path: the path may not contain/,
      );
    }
  });

  it('is refused at run time for a redirect, a name resolving to the metadata server and a stored proxy escape; the good release beside them succeeds', async () => {
    const alias = `${uniqueId('md')}.attacker.test`;
    await resolveHost(alias, ['169.254.169.254']);
    const fixtures: Fixture[] = [];
    const tampered = new Set<Fixture>();
    try {
      const [good, redirect, rebind, proxyEscape, storedMetadata] = await Promise.all([
        releaseFixture('ob-good', webAnalysis({ url: `${base}/metrics` })),
        releaseFixture('ob-redirect', webAnalysis({ url: `${base}/to-metadata` })),
        releaseFixture('ob-rebind', webAnalysis({ url: `http://${alias}:80/computeMetadata/v1/` })),
        releaseFixture('ob-escape', webAnalysis({ service: { name: 'api', port: 80, path: placeholder } })),
        releaseFixture('ob-stored-md', webAnalysis({ url: `${base}${placeholder}` })),
      ]);
      fixtures.push(good, redirect, rebind, proxyEscape, storedMetadata);
      await storeUnchecked(
        proxyEscape,
        placeholder,
        '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/apis/apps/v1/namespaces/kube-system/deployments',
      );
      await storeUnchecked(storedMetadata, `${base}${placeholder}`, tokenUrl);
      await Promise.all(fixtures.map((f) => f.push(2)));
      // The hostile documents go as soon as their release has ended: the run's stack is shared, and
      // every listing of its targets (the README walk-through's `switchyard targets`) reports them.
      tampered.add(proxyEscape).add(storedMetadata);
      const [okDone, redirectDone, rebindDone, escapeDone, storedDone] = await Promise.all(
        fixtures.map(async (f) => {
          const done = await f.waitRelease(`${f.name}-1`);
          if (tampered.has(f)) await forget(f);
          return done;
        }),
      );

      expect(okDone!.phase).toBe('Succeeded');
      expect(lastMeasurement(okDone!)).toMatchObject({ phase: 'Successful', value: 0.01 });
      expect((await good.selector('api'))['switchyard.dev/revision']).toBe(okDone!.candidate!.revision);

      // Refused when measuring: the measurement is an error with the reason, the run fails, blue stays.
      for (const [done, why] of [
        [
          redirectDone!,
          /refused: 169\.254\.169\.254 is a cloud metadata server: Switchyard never sends requests there/,
        ],
        [
          rebindDone!,
          new RegExp(
            `refused: ${alias.replaceAll('.', '\\.')} resolves to 169\\.254\\.169\\.254, a cloud metadata server`,
          ),
        ],
      ] as const) {
        expect(done.phase, done.id).toBe('RolledBack');
        expect(lastMeasurement(done), done.id).toMatchObject({
          phase: 'Error',
          message: expect.stringMatching(why),
        });
        expect(done.analysis.pre!.message).toMatch(why);
      }
      // Written into Firestore past validation: every step validates the stored target again, so the
      // release ends before anything is measured, with validation's reason (the provider's own checks
      // behind it are unit-tested).
      for (const [done, why] of [
        [
          escapeDone!,
          /no longer validates: .*provider\.web\.service\.path: the path may not contain "\." or "\.\." segments, encoded or not/,
        ],
        [
          storedDone!,
          /no longer validates: .*provider\.web\.url: 169\.254\.169\.254 is a cloud metadata server/,
        ],
      ] as const) {
        expect(done.phase, done.id).toBe('Failed');
        expect(done.reason, done.id).toMatch(why);
        expect(done.analysis.pre ?? null, done.id).toBeNull();
      }
      // The redirect was asked for once; nothing ever followed it.
      expect(hits.filter((h) => h === '/to-metadata').length).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all([...tampered].map(forget));
      await Promise.all(fixtures.map((f) => f.close()));
    }
  });

  it("refuses another team's Slack secret with the reason recorded, while the team that owns it is notified", async () => {
    const slack = await startReceiver();
    const id = uniqueId('team-a-slack');
    const dir = join(stack().stateDir, 'secrets', id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, id), `${slack.url}\n`);
    const notifications = [{ name: 'slack', on: ['finished'], slack: { webhookSecret: id } }];
    const fixtures: Fixture[] = [];
    try {
      const [owner, thief] = await Promise.all([
        releaseFixture('ob-owner', { notifications }),
        releaseFixture('ob-thief', { notifications }),
      ]);
      fixtures.push(owner, thief);
      await grantSecret(id, { targets: [owner.name] });
      await Promise.all(fixtures.map((f) => f.push(2)));
      const done = await Promise.all(fixtures.map((f) => f.waitRelease(`${f.name}-1`)));
      expect(done.map((r) => r.phase)).toEqual(['Succeeded', 'Succeeded']);
      const record = (f: Fixture) =>
        waitFor(
          async () => {
            const q = await f.db.collection(collections.notifications).where('target', '==', f.name).get();
            const r = q.docs.map((d) => d.data() as NotificationRecord).find((x) => x.status !== 'sending');
            return r;
          },
          { timeoutMs: 30_000, what: `the notification record of ${f.name}` },
        );
      const [ownerRecord, thiefRecord] = [await record(owner), await record(thief)];
      expect(ownerRecord).toMatchObject({ status: 'delivered', notifier: 'slack' });
      expect(thiefRecord).toMatchObject({ status: 'failed', attempts: 0 });
      expect(thiefRecord.error).toBe(
        `refused: secret "${id}" belongs to other targets (targets ${owner.name}), not to target ${thief.name}: use a secret of this target's own, or ask the installation to map this one to it in SWITCHYARD_NOTIFY_SECRET_GRANTS`,
      );
      // Only the owner's message reached the channel.
      const texts = (slack.received as { text: string }[]).map((m) => m.text);
      expect(texts.some((t) => t.startsWith(`${owner.name} `))).toBe(true);
      expect(texts.some((t) => t.startsWith(`${thief.name} `))).toBe(false);
    } finally {
      await Promise.all(fixtures.map((f) => f.close()));
      await slack.close();
    }
  });
});
