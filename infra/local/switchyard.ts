// Switchyard's own functions as the local stack hosts them: one functions-framework process per
// function of the registry (shared/topology.ts), all loading functions/index.ts.
import { join } from 'node:path';
import { topology } from '../../shared/topology.ts';
import type { HostedFunction } from './components/functions.ts';

const source = join(import.meta.dirname, '../../functions/index.ts');

export function switchyardFunctions(prefix = 'switchyard'): HostedFunction[] {
  return topology(prefix).functions.map((fn) => ({
    name: fn.name,
    source,
    triggers: fn.triggers,
    deadLetterTopic: fn.deadLetterTopic,
    maxDeliveryAttempts: fn.maxDeliveryAttempts,
    ackDeadlineSeconds: fn.ackDeadlineSeconds,
  }));
}
