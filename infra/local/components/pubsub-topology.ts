// The topics and push subscriptions a part needs on the Pub/Sub emulator, checked and (re)created
// through the emulator's REST API. The emulator keeps everything in memory: after it restarts, or
// when someone deleted a topic, the topology is gone while the process answers, so "is the part
// healthy" means "is its topology there", not only "does the emulator run".
// REST rather than the gRPC client: a check is a few loopback GETs with no channel to set up or close.

/** One push subscription, as Cloud Functions' Pub/Sub triggers make them. */
export interface PushSubscriptionSpec {
  name: string;
  topic: string;
  pushEndpoint: string;
  ackDeadlineSeconds: number;
  deadLetterTopic: string;
  /** 5..100, as Pub/Sub allows. */
  maxDeliveryAttempts: number;
}

export interface PubSubTopology {
  /** Topics that must exist (trigger and dead-letter topics). */
  topics: string[];
  subscriptions: PushSubscriptionSpec[];
}

/** Redelivery after a failed push: 1 s growing to 10 s, so local retries take seconds. */
const retryPolicy = { minimumBackoff: '1s', maximumBackoff: '10s' };

interface SubscriptionResource {
  name: string;
  topic?: string;
  pushConfig?: { pushEndpoint?: string };
  ackDeadlineSeconds?: number;
  deadLetterPolicy?: { deadLetterTopic?: string; maxDeliveryAttempts?: number };
  retryPolicy?: { minimumBackoff?: string; maximumBackoff?: string };
}

class EmulatorRest {
  private readonly host: string;
  readonly projectId: string;
  private readonly timeoutMs: number;

  constructor(host: string, projectId: string, timeoutMs: number) {
    this.host = host;
    this.projectId = projectId;
    this.timeoutMs = timeoutMs;
  }

  path(kind: 'topics' | 'subscriptions', name: string): string {
    return `projects/${this.projectId}/${kind}/${name}`;
  }

  /** The resource, or undefined when it does not exist. */
  async get<T>(kind: 'topics' | 'subscriptions', name: string): Promise<T | undefined> {
    const res = await this.call('GET', this.path(kind, name));
    if (res.status === 404) return undefined;
    return (await this.json(res, `GET ${kind}/${name}`)) as T;
  }

  /** Every resource of a kind in the project, page by page. */
  async list<T>(kind: 'topics' | 'subscriptions'): Promise<T[]> {
    const items: T[] = [];
    let pageToken = '';
    do {
      const query = `pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`;
      const res = await this.call('GET', `projects/${this.projectId}/${kind}?${query}`);
      const page = (await this.json(res, `GET ${kind}`)) as Record<string, unknown> & {
        nextPageToken?: string;
      };
      items.push(...((page[kind] as T[] | undefined) ?? []));
      pageToken = page.nextPageToken ?? '';
    } while (pageToken);
    return items;
  }

  /** Creates the resource; false when it exists already (created concurrently). */
  async create(kind: 'topics' | 'subscriptions', name: string, body: object): Promise<boolean> {
    const res = await this.call('PUT', this.path(kind, name), body);
    if (res.status === 409) {
      await res.arrayBuffer();
      return false;
    }
    await this.json(res, `PUT ${kind}/${name}`);
    return true;
  }

  async patchSubscription(name: string, subscription: object, updateMask: string[]): Promise<void> {
    const res = await this.call('PATCH', this.path('subscriptions', name), {
      subscription,
      updateMask: updateMask.join(','),
    });
    await this.json(res, `PATCH subscriptions/${name}`);
  }

  async deleteSubscription(name: string): Promise<void> {
    const res = await this.call('DELETE', this.path('subscriptions', name));
    if (res.status !== 404) await this.json(res, `DELETE subscriptions/${name}`);
  }

  private call(method: string, path: string, body?: object): Promise<Response> {
    return fetch(`http://${this.host}/v1/${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : undefined,
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  private async json(res: Response, what: string): Promise<unknown> {
    const text = await res.text();
    if (!res.ok)
      throw new Error(`Pub/Sub emulator ${this.host}: ${what} answered ${res.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : {};
  }
}

/** The fields of a push subscription that `spec` decides, as the API spells them. */
function desired(rest: EmulatorRest, spec: PushSubscriptionSpec) {
  return {
    topic: rest.path('topics', spec.topic),
    pushConfig: { pushEndpoint: spec.pushEndpoint },
    ackDeadlineSeconds: spec.ackDeadlineSeconds,
    deadLetterPolicy: {
      deadLetterTopic: rest.path('topics', spec.deadLetterTopic),
      maxDeliveryAttempts: spec.maxDeliveryAttempts,
    },
    retryPolicy,
  };
}

/** The fields of `actual` that differ from `spec` (its topic aside), by update-mask name. */
function differences(rest: EmulatorRest, spec: PushSubscriptionSpec, actual: SubscriptionResource): string[] {
  const want = desired(rest, spec);
  const diff: string[] = [];
  if (actual.pushConfig?.pushEndpoint !== want.pushConfig.pushEndpoint) diff.push('pushConfig');
  if (actual.ackDeadlineSeconds !== want.ackDeadlineSeconds) diff.push('ackDeadlineSeconds');
  if (
    actual.deadLetterPolicy?.deadLetterTopic !== want.deadLetterPolicy.deadLetterTopic ||
    actual.deadLetterPolicy?.maxDeliveryAttempts !== want.deadLetterPolicy.maxDeliveryAttempts
  ) {
    diff.push('deadLetterPolicy');
  }
  if (
    actual.retryPolicy?.minimumBackoff !== retryPolicy.minimumBackoff ||
    actual.retryPolicy?.maximumBackoff !== retryPolicy.maximumBackoff
  ) {
    diff.push('retryPolicy');
  }
  return diff;
}

function uniqueTopics(want: PubSubTopology): string[] {
  return [...new Set([...want.topics, ...want.subscriptions.flatMap((s) => [s.topic, s.deadLetterTopic])])];
}

/** What the emulator holds now: topic names and subscriptions by name (one request each). */
async function holdings(rest: EmulatorRest) {
  const [topics, subscriptions] = await Promise.all([
    rest.list<{ name: string }>('topics'),
    rest.list<SubscriptionResource>('subscriptions'),
  ]);
  const last = (name: string) => name.slice(name.lastIndexOf('/') + 1);
  return {
    topics: new Set(topics.map((t) => last(t.name))),
    subscriptions: new Map(subscriptions.map((s) => [last(s.name), s])),
  };
}

/**
 * What of `want` the emulator lacks or holds otherwise, one short line each ("topic x missing",
 * "subscription y: pushConfig differ"); empty when everything is there. Throws when the emulator
 * cannot be asked.
 */
export async function topologyGaps(host: string, projectId: string, want: PubSubTopology): Promise<string[]> {
  // A check answers within seconds; an emulator slower than this is as good as not ready.
  const rest = new EmulatorRest(host, projectId, 15_000);
  const held = await holdings(rest);
  const gaps = uniqueTopics(want)
    .filter((t) => !held.topics.has(t))
    .map((t) => `topic ${t} missing`);
  for (const spec of want.subscriptions) {
    const actual = held.subscriptions.get(spec.name);
    if (!actual) {
      gaps.push(`subscription ${spec.name} missing`);
    } else if (actual.topic !== rest.path('topics', spec.topic)) {
      gaps.push(`subscription ${spec.name} is attached to ${actual.topic}, not ${spec.topic}`);
    } else {
      const diff = differences(rest, spec, actual);
      if (diff.length > 0) gaps.push(`subscription ${spec.name}: ${diff.join(', ')} differ`);
    }
  }
  return gaps;
}

/**
 * Makes the emulator hold `want`: creates missing topics and subscriptions, corrects the fields of a
 * subscription that differ (keeping its undelivered messages), and recreates a subscription whose
 * topic was deleted or is another. Idempotent; returns what it changed, one line each.
 */
export async function applyTopology(
  host: string,
  projectId: string,
  want: PubSubTopology,
): Promise<string[]> {
  // Generous: a busy emulator on two loaded cores can take seconds per call.
  const rest = new EmulatorRest(host, projectId, 60_000);
  const held = await holdings(rest);
  const changed: string[] = [];
  await Promise.all(
    uniqueTopics(want)
      .filter((t) => !held.topics.has(t))
      .map(async (t) => {
        if (await rest.create('topics', t, {})) changed.push(`topic ${t} created`);
      }),
  );
  await Promise.all(
    want.subscriptions.map(async (spec) => {
      const body = desired(rest, spec);
      let actual = held.subscriptions.get(spec.name);
      if (actual && actual.topic !== body.topic) {
        await rest.deleteSubscription(spec.name);
        actual = undefined;
      }
      if (!actual) {
        if (await rest.create('subscriptions', spec.name, body)) {
          changed.push(`subscription ${spec.name} created`);
          return;
        }
        // Created meanwhile by someone else: correct it like any other.
        actual = await rest.get<SubscriptionResource>('subscriptions', spec.name);
        if (!actual) throw new Error(`subscription ${spec.name} was created and deleted meanwhile`);
      }
      const diff = differences(rest, spec, actual);
      if (diff.length === 0) return;
      await rest.patchSubscription(spec.name, body, diff);
      changed.push(`subscription ${spec.name}: ${diff.join(', ')} updated`);
    }),
  );
  return changed;
}
