// Lint that holds the house together (run by `npm test`, and alone by `npm run lint`): no promise
// left floating or passed where a callback's result is ignored, and dependencies pointing one way.
// Type checking itself is tsc's job; formatting is nobody's.
import tseslint from 'typescript-eslint';

/** Node modules that do I/O: the pure layers (machines, market core) must not reach for them. */
const IO_MODULES = ['node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:child_process', 'node:worker_threads', 'node:dgram', 'ws', 'lmdb', 'mongodb', 'polka'];

/** `no-restricted-imports` with these import patterns refused, each with why. */
const refuse = (...groups) => ['error', { patterns: groups.map(([group, message]) => ({ group, message })) }];

const NO_SIM_OR_TEST = [['**/sim/**', '**/test/**', '**/bench/**', '**/scripts/**'], 'production code must not depend on the simulator, tests, benchmarks or scripts'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'bin/**', 'src/daemon/ui/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // node:test's test() returns a promise the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] }] }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: true, attributes: false, properties: true, returns: true, variables: true } }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': refuse(NO_SIM_OR_TEST) },
  },
  {
    // Machines and the market core are pure: state and events in, state and effects out.
    files: ['src/machines/**/*.ts', 'src/market/**/*.ts'],
    rules: {
      'no-restricted-imports': refuse(
        NO_SIM_OR_TEST,
        [IO_MODULES, 'machines and the market core do no I/O: the caller hands them what they need'],
        [['**/transport/**', '**/store/**', '**/server/**', '**/daemon/**', '**/actors/**', '**/cli/**', '**/cafs/**'], 'machines and the market core depend on no runtime layer'],
      ),
    },
  },
  {
    // The wire protocols are shared by both ends: they know neither.
    files: ['src/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': refuse(NO_SIM_OR_TEST, [['**/server/**', '**/daemon/**', '**/cli/**'], 'a protocol module is shared by both ends and imports neither']) },
  },
  {
    // The daemon talks to the exchange over the protocol only.
    files: ['src/daemon/**/*.ts'],
    rules: { 'no-restricted-imports': refuse(NO_SIM_OR_TEST, [['**/server/**', '**/cli/**'], 'the daemon talks to the exchange through src/protocol, never its code']) },
  },
  {
    files: ['src/server/**/*.ts'],
    rules: { 'no-restricted-imports': refuse(NO_SIM_OR_TEST, [['**/daemon/**', '**/cli/**'], 'the exchange does not depend on the daemon or the command line']) },
  },
);
