// Recording Kubernetes Events about Switchyard's objects (events.k8s.io/v1), as kubectl describe
// and kubectl get events show them.
import { randomBytes } from 'node:crypto';
import type { ClusterApis } from './client.ts';
import { attempt } from './errors.ts';
import { type ClusterEvent, managerName } from './types.ts';

export async function recordEvent(api: ClusterApis, namespace: string, event: ClusterEvent): Promise<void> {
  const apiVersion = event.regarding.kind === 'Deployment' ? 'apps/v1' : 'v1';
  await attempt(`recording an Event about ${event.regarding.kind} "${event.regarding.name}"`, () =>
    api.events.createNamespacedEvent({
      namespace,
      body: {
        // Named as kubelet names its Events: the object's name and a unique suffix.
        metadata: {
          name: `${event.regarding.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`,
          namespace,
        },
        // MicroTime: the API server wants exactly six fractional digits, and the client would send
        // a Date with three, so the time goes as the string the server expects.
        eventTime: microTime(new Date()) as unknown as Date,
        reportingController: `switchyard.dev/${managerName}`,
        reportingInstance: event.instance.slice(0, 128),
        action: event.action.slice(0, 128),
        reason: event.reason.slice(0, 128),
        note: event.note.slice(0, 1024),
        type: event.type,
        regarding: { apiVersion, kind: event.regarding.kind, name: event.regarding.name, namespace },
      },
    }),
  );
}

/** RFC 3339 with microseconds, as Kubernetes' MicroTime fields are written. */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
