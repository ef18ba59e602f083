// The demo's two ReleaseTargets, written to `<stack dir>/demo/*.yaml` and applied like any file:
// `api` releases blue-green behind a pre-promotion analysis on Prometheus, `web` releases as a
// canary through a Gateway API HTTPRoute with a manual gate.
import type { ReleaseTargetInput } from '../../../shared/target/schema.ts';
import { demoNamespace } from './context.ts';

/** Repositories of the demo's images (pushes are simulated: nothing is pulled on kwok nodes). */
export const repositories = {
  api: 'us-docker.pkg.dev/switchyard-demo/apps/api',
  web: 'us-docker.pkg.dev/switchyard-demo/apps/web',
  frontend: 'us-docker.pkg.dev/switchyard-demo/apps/frontend',
  bff: 'us-docker.pkg.dev/switchyard-demo/apps/bff',
  backend: 'us-docker.pkg.dev/switchyard-demo/apps/backend',
} as const;

/** The kubeconfig context of every local stack's cluster. */
const localContext = 'switchyard-local';

/**
 * The error ratio of the image under test over the last 5 minutes. The series carry the image
 * (by digest) they were measured on, as a version label would, and the job of this run.
 */
export function errorRateQuery(job: string): string {
  const of = `job="${job}",image="{{release.image}}"`;
  return `sum(rate(http_requests_total{${of},code=~"5.."}[5m])) / sum(rate(http_requests_total{${of}}[5m]))`;
}

/** The analysis template of the error ratio of the image under test, passing below 5%. */
function errorRateTemplate(prometheusUrl: string, job: string) {
  return {
    name: 'error-rate',
    metrics: [
      {
        name: 'error-rate',
        count: 2,
        interval: '1s',
        successCondition: 'result[0] < 0.05',
        failureLimit: 0,
        provider: { prometheus: { address: prometheusUrl, query: errorRateQuery(job) } },
      },
    ],
  };
}

/**
 * The release train's three targets: frontend depends on bff, bff on backend; backend checks its
 * error rate before it takes traffic. Blue is kept 1 s after each switch.
 */
export function trainTargets(prometheusUrl: string, job: string): ReleaseTargetInput[] {
  const member = (name: 'frontend' | 'bff' | 'backend', dependsOn: string[]): ReleaseTargetInput => ({
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name, labels: { purpose: 'demo' } },
    spec: {
      image: { repository: repositories[name], tagFilter: '^v\\d+$' },
      cluster: { context: localContext },
      namespace: demoNamespace,
      workload: name,
      progressDeadlineSeconds: 90,
      ...(dependsOn.length ? { dependsOn } : {}),
      strategy: {
        blueGreen: {
          activeService: name,
          autoPromotionEnabled: true,
          scaleDownDelaySeconds: 1,
          abortScaleDownDelaySeconds: 1,
          ...(name === 'backend'
            ? { prePromotionAnalysis: { templates: [{ templateName: 'error-rate' }] } }
            : {}),
        },
      },
      ...(name === 'backend' ? { analysis: { templates: [errorRateTemplate(prometheusUrl, job)] } } : {}),
    },
  });
  return [member('backend', []), member('bff', ['backend']), member('frontend', ['bff'])];
}

export function apiTarget(prometheusUrl: string, job: string): ReleaseTargetInput {
  return {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name: 'api', labels: { purpose: 'demo' } },
    spec: {
      image: { repository: repositories.api, tagFilter: '^v\\d+$' },
      cluster: { context: localContext },
      namespace: demoNamespace,
      workload: 'api',
      progressDeadlineSeconds: 90,
      strategy: {
        blueGreen: {
          activeService: 'api',
          previewService: 'api-preview',
          // Promote as soon as the analysis passed; keep blue 5 s for a fast undo.
          autoPromotionEnabled: true,
          scaleDownDelaySeconds: 5,
          abortScaleDownDelaySeconds: 5,
          prePromotionAnalysis: { templates: [{ templateName: 'error-rate' }] },
        },
      },
      analysis: { templates: [errorRateTemplate(prometheusUrl, job)] },
    },
  };
}

export function webTarget(): ReleaseTargetInput {
  return {
    apiVersion: 'switchyard.dev/v1alpha1',
    kind: 'ReleaseTarget',
    metadata: { name: 'web', labels: { purpose: 'demo' } },
    spec: {
      image: { repository: repositories.web, tagFilter: '^v\\d+$' },
      cluster: { context: localContext },
      namespace: demoNamespace,
      workload: 'web',
      progressDeadlineSeconds: 90,
      strategy: {
        canary: {
          stableService: 'web',
          canaryService: 'web-canary',
          trafficRouting: { gatewayAPI: { httpRoute: 'web' } },
          steps: [{ setWeight: 20 }, { pause: { duration: '2s' } }, { setWeight: 50 }, { pause: {} }],
          scaleDownDelaySeconds: 5,
          abortScaleDownDelaySeconds: 5,
        },
      },
    },
  };
}

/** Request counters of `image` every 15 s over the last 10 minutes, `errorPercent` of them 5xx. */
export function requestSeries(job: string, image: string, errorPercent: number): string {
  const now = Math.floor(Date.now() / 1000);
  const lines = ['# TYPE http_requests counter'];
  for (let i = 40; i >= 0; i--) {
    const n = 40 - i;
    const labels = (code: number) => `job="${job}",image="${image}",code="${code}"`;
    lines.push(`http_requests_total{${labels(500)}} ${errorPercent * n} ${now - 15 * i}`);
    lines.push(`http_requests_total{${labels(200)}} ${(100 - errorPercent) * n} ${now - 15 * i}`);
  }
  return lines.join('\n');
}
