import { describe, expect, it } from 'vitest';
import { resolveEnvironment, type StackFile } from './stack-env.ts';

const stack: StackFile = {
  projectId: 'switchyard-local',
  parts: {
    firestore: { host: '127.0.0.1:8080' },
    pubsub: { host: '127.0.0.1:8085' },
    kubernetes: { kubeconfig: '/stack/kubeconfig' },
  },
};
const withStack = () => stack;
const noStack = () => null;

describe('resolveEnvironment', () => {
  it('uses the local dev stack when no project is named', () => {
    expect(resolveEnvironment({}, undefined, '/stack', withStack)).toEqual({
      set: {
        GOOGLE_CLOUD_PROJECT: 'switchyard-local',
        METADATA_SERVER_DETECTION: 'none',
        FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080',
        PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
        KUBECONFIG: '/stack/kubeconfig',
      },
      source: {
        kind: 'local-stack',
        project: 'switchyard-local',
        stateDir: '/stack',
        kubeconfig: '/stack/kubeconfig',
      },
    });
  });

  it('keeps what the environment sets explicitly', () => {
    const env = { KUBECONFIG: '/mine', FIRESTORE_EMULATOR_HOST: 'other:1' };
    const { set } = resolveEnvironment(env, undefined, '/stack', withStack);
    expect(set.KUBECONFIG).toBeUndefined();
    expect(set.FIRESTORE_EMULATOR_HOST).toBeUndefined();
  });

  it('never picks the local stack for --project: Google Cloud unless emulators are set by hand', () => {
    let read = false;
    const result = resolveEnvironment({}, 'acme-prod', '/stack', () => {
      read = true;
      return stack;
    });
    expect(result).toEqual({
      set: { GOOGLE_CLOUD_PROJECT: 'acme-prod' },
      source: { kind: 'flag', project: 'acme-prod' },
    });
    expect(read).toBe(false);
  });

  it('uses the project of the environment as it is', () => {
    expect(resolveEnvironment({ GCLOUD_PROJECT: 'acme' }, undefined, '/stack', withStack)).toEqual({
      set: {},
      source: { kind: 'environment', project: 'acme' },
    });
  });

  it('reports that there is nothing to use', () => {
    expect(resolveEnvironment({}, undefined, '/stack', noStack).source).toEqual({
      kind: 'none',
      stateDir: '/stack',
    });
  });
});
