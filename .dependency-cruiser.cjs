// The import rules of shared/README.md and the other folder READMEs, checked (npm run deps, part
// of npm run lint). Type-only imports count: a cycle through types is still a cycle to read.
/** @type {import('dependency-cruiser').IConfiguration} */
const project = '^(shared|cli|functions|infra|scripts|bench|test)/';
const io = [
  '^shared/(runtime|adapters|egress|notify|registry)/',
  // Every file of the cluster adapter except the pure ones.
  '^shared/kubernetes/(?!(revision|types|tampered|guard)\\.ts$)',
  '^shared/(config|log)\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No module reaches itself again through its imports.',
      severity: 'error',
      from: { path: project },
      to: { circular: true },
    },
    {
      name: 'engine-is-pure',
      comment:
        'shared/engine decides; it does no I/O and reads no environment. Types of the adapters are fine, their code is not.',
      severity: 'error',
      from: { path: '^shared/engine/', pathNot: '\\.test\\.ts$' },
      to: { path: io, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'engine-imports-no-clients',
      comment: 'No client library or Node I/O module in the engine (types only).',
      severity: 'error',
      from: { path: '^shared/engine/', pathNot: '\\.test\\.ts$' },
      to: {
        path: '(^|/)node_modules/(@google-cloud|@kubernetes|googleapis|google-auth-library|undici)/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'engine-no-node-io',
      severity: 'error',
      from: { path: '^shared/engine/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|net|http|https|child_process|dns|fs/promises)$' },
    },
    {
      name: 'shared-stands-alone',
      comment: 'shared/ is what the functions run: it imports nothing of the CLI, the tools or the tests.',
      severity: 'error',
      from: { path: '^shared/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(cli|functions|infra|scripts|bench|test)/' },
    },
    {
      name: 'kubernetes-adapter-below-runtime',
      comment: 'The cluster adapter knows Kubernetes, not releases: it imports no engine, runtime or store.',
      severity: 'error',
      from: { path: '^shared/kubernetes/' },
      to: { path: '^shared/(engine|runtime|adapters|notify|target|routers)/' },
    },
    {
      name: 'egress-and-identity-are-leaves',
      comment: 'The egress policy and identity checks depend on configuration and message types only.',
      severity: 'error',
      from: { path: '^shared/(egress|identity)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^shared/(engine|runtime|adapters|notify|kubernetes|routers|analysis|target)/' },
    },
    {
      name: 'functions-are-shells',
      comment: 'functions/ registers entry points; the work is in shared/runtime.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^shared/(engine|adapters|kubernetes|routers|analysis|notify)/' },
    },
    {
      name: 'model-is-for-tests',
      comment: "The engine's model (a cluster and runtime for model-based tests) is imported by tests only.",
      severity: 'error',
      from: {
        path: '^(shared|cli|functions|infra|scripts|bench)/',
        pathNot: '(\\.test\\.ts$|^shared/engine/model/)',
      },
      to: { path: '^shared/engine/model/' },
    },
    {
      name: 'tools-not-in-the-product',
      comment: 'The local stack and the CLI do not import tests.',
      severity: 'error',
      from: { path: '^(cli|infra|functions|bench|scripts)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/\\.vite|^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
