// The registry of metric providers: each kind's implementation behind the one MetricProvider
// contract (shared/analysis/provider.ts). The engine looks a provider up by the kind stored with the
// metric; an unknown kind cannot get here (refused when the target is applied).
import type { MetricProvider } from '../provider.ts';
import { cloudMonitoringProvider } from './cloud-monitoring/index.ts';
import { jobProvider } from './job/index.ts';
import { prometheusProvider } from './prometheus/index.ts';
import type { ProviderConfigs, ProviderKind } from './schemas.ts';
import { webProvider } from './web/index.ts';

export const providers: { [K in ProviderKind]: MetricProvider<ProviderConfigs[K]> } = {
  prometheus: prometheusProvider(),
  cloudMonitoring: cloudMonitoringProvider(),
  web: webProvider,
  job: jobProvider(),
};
