import { packageConfig } from '../../tsup.base';

// `@hookline/store/testing` is the conformance suite; it imports vitest, so it is its own entry.
export default packageConfig({ entry: ['src/index.ts', 'src/testing.ts'], external: ['vitest'] });
