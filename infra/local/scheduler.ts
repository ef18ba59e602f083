// The local stand-in for Cloud Scheduler: publishes a tick on the sweep topic every N seconds.
// Usage: node infra/local/scheduler.ts <topic> <seconds>   (PUBSUB_EMULATOR_HOST, GOOGLE_CLOUD_PROJECT set)
import { PubSub } from '@google-cloud/pubsub';

const [topic, seconds] = process.argv.slice(2);
if (!topic || !seconds || !(Number(seconds) > 0)) {
  process.stderr.write('usage: scheduler.ts <topic> <seconds>\n');
  process.exit(2);
}
const pubsub = new PubSub({
  projectId: process.env.GOOGLE_CLOUD_PROJECT,
  apiEndpoint: process.env.PUBSUB_EMULATOR_HOST,
});
const tick = async () => {
  try {
    await pubsub.topic(topic).publishMessage({ json: { kind: 'sweep', at: new Date().toISOString() } });
  } catch (err) {
    process.stderr.write(`tick failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
};
setInterval(tick, Number(seconds) * 1000);
process.on('SIGTERM', () => process.exit(0));
