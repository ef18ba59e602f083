// The Firestore collections Switchyard keeps its documents in, named once for every reader and writer.
export const collections = {
  targets: 'targets',
  analysisTemplates: 'analysisTemplates',
  workloads: 'workloads',
  releases: 'releases',
  pushes: 'pushes',
  requests: 'requests',
  notifications: 'notifications',
  slackThreads: 'slackThreads',
} as const;
