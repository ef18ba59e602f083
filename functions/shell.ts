// What every function does around its work: decode the Pub/Sub message, run, and turn errors into
// "deliver again" (throw: HTTP 500, Pub/Sub retries) or "done" (a final error, logged with its reason).
import type { CloudEvent } from '@google-cloud/functions-framework';
import { retriability } from '../shared/errors.ts';
import { decodeJson } from '../shared/messages.ts';
import { type Deps, deps } from '../shared/runtime/deps.ts';
import { measured } from '../shared/runtime/metrics.ts';

export interface PubSubEvent {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string; message_id?: string };
}

export interface Incoming {
  /** The topic the message was published on (from the CloudEvent source). */
  topic: string;
  messageId: string;
  data: unknown;
  attributes: Record<string, string>;
}

export type Work = (d: Deps, msg: Incoming) => Promise<unknown>;

/** Wraps a function's work into a CloudEvent handler. */
export function shell(name: string, work: Work) {
  return async (event: CloudEvent<PubSubEvent>): Promise<void> => {
    const d = deps();
    const log = d.log.with({ function: name, eventId: event.id });
    const message = event.data?.message;
    const topic = /\/topics\/([^/]+)$/.exec(event.source ?? '')?.[1] ?? '';
    let data: unknown;
    try {
      data = decodeJson(message?.data);
    } catch (err) {
      log.warn(`dropped an unreadable message: ${(err as Error).message}`, { topic });
      if (name === 'deploy-green' && topic === 'gcr')
        data = null; // recorded as ignored by the push intake
      else return;
    }
    const incoming: Incoming = {
      topic,
      messageId: message?.messageId ?? message?.message_id ?? event.id,
      data,
      attributes: message?.attributes ?? {},
    };
    const started = Date.now();
    // Publish-to-start latency of this delivery (a step hop, when the message is a hand-over).
    const deliveryMs = event.time ? started - Date.parse(event.time) : undefined;
    try {
      const { metrics } = await measured(() => work(d, incoming));
      log.info(`${name} invocation done`, {
        topic,
        ...metrics,
        deliveryMs,
        durationMs: Date.now() - started,
      });
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      if (retriability(err) === 'retry') {
        log.error(`${name} failed and will be retried: ${text}`, { topic });
        throw err;
      }
      log.error(`${name} gave up: ${text}`, { topic });
    }
  };
}
